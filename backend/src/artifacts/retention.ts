/**
 * Retention: which run artifacts are kept, and garbage collection of what nothing references.
 *
 * expireArtifacts() keeps, per model, the artifacts of its newest `artifacts.keepRuns` runs and of
 * every run that ended less than `artifacts.keepDays` ago, plus those a schedule names (fromRun: an
 * id) and those an unfinished run reads. The others lose their tag and their rows; the run keeps a
 * note that says so. It can run at any time.
 *
 * collectGarbage() deletes, from the OCI layout (the embedded image store), the blobs no tagged
 * manifest reaches and no remembered dependency layer names, and from the snapshot staging folder
 * the uploaded files no snapshot lists. It runs when the backend starts, before the executor and
 * the HTTP server: nothing can be writing a blob that a manifest is about to name. It reads every
 * manifest, so a start skips the parts in which nothing was added or removed since the last
 * collection (gc-state.ts).
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppContext } from '../context';
import { OciLayoutStore } from '../images/oci-layout';
import { artifactTag } from './oci-artifact';
import { environmentsDir } from '../snapshots/environments';

const HEX = /^[a-f0-9]{64}$/;
const DAY_MS = 86_400_000;

export interface Expired {
  runId: string;
  model: string;
}

export async function expireArtifacts(ctx: AppContext, now = new Date()): Promise<Expired[]> {
  const { keepRuns, keepDays } = ctx.config.artifacts;
  const rows = await ctx.db
    .selectFrom('run_outputs')
    .innerJoin('runs', 'runs.id', 'run_outputs.run_id')
    .select(['runs.id', 'runs.model', 'runs.finished_at'])
    .where('run_outputs.state', '=', 'stored')
    .orderBy('runs.model')
    .orderBy('runs.finished_at', 'desc')
    .orderBy('runs.id', 'desc')
    .execute();
  const pinned = await pinnedRuns(ctx);
  const cutoff = now.getTime() - keepDays * DAY_MS;
  const expired: Expired[] = [];
  let model = '';
  let rank = 0;
  for (const r of rows) {
    rank = r.model === model ? rank + 1 : 0;
    model = r.model;
    const recent = r.finished_at !== null && Date.parse(r.finished_at) >= cutoff;
    if (rank < keepRuns || recent || pinned.has(r.id)) continue;
    expired.push({ runId: r.id, model: r.model });
  }
  const note = `artifacts expired: not among the newest ${keepRuns} runs of the model and older than ${keepDays} days (artifacts.keepRuns, artifacts.keepDays)`;
  for (const e of expired) {
    if (ctx.images instanceof OciLayoutStore) await ctx.images.removeTag(e.model, artifactTag(e.runId));
    await ctx.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('run_artifacts').where('run_id', '=', e.runId).execute();
      await tx.updateTable('run_outputs').set({ state: 'expired', note, ref: null, total_bytes: 0 }).where('run_id', '=', e.runId).execute();
    });
  }
  return expired;
}

/** runs whose artifacts must stay: named by a schedule's fromRun, or read by a run not yet final */
async function pinnedRuns(ctx: AppContext): Promise<Set<string>> {
  const out = new Set<string>();
  for (const s of await ctx.db.selectFrom('schedules').select('request').execute()) {
    try {
      const from = (JSON.parse(s.request) as { fromRun?: unknown }).fromRun;
      if (typeof from === 'string' && from !== 'latest') out.add(from);
    } catch {
      /* a request that is not JSON pins nothing */
    }
  }
  const reading = await ctx.db.selectFrom('runs').select('input_run_id').where('status', 'in', ['Pending', 'Running']).where('input_run_id', 'is not', null).execute();
  for (const r of reading) out.add(r.input_run_id!);
  return out;
}

export interface Collected {
  blobs: number;
  blobBytes: number;
  staged: number;
  stagedBytes: number;
}

/** the two places the collector sweeps: the OCI layout's blobs, and the snapshot staging folder */
export interface GcParts {
  layout: boolean;
  staging: boolean;
}

/** the remembered dependency layers (their blobs stay), in the staging folder */
export const dependencyLayersDir = (ctx: AppContext): string => join(ctx.dirs.blobs, '.dependency-layers');

/** Deletes what nothing references (see the file comment for when it may run), in the parts asked for. */
export async function collectGarbage(ctx: AppContext, parts: GcParts = { layout: true, staging: true }): Promise<Collected> {
  const out: Collected = { blobs: 0, blobBytes: 0, staged: 0, stagedBytes: 0 };
  const depCache = dependencyLayersDir(ctx);
  if (parts.layout && ctx.images instanceof OciLayoutStore) {
    const live = await reachable(ctx.images);
    for (const digest of await remembered(depCache)) live.add(digest);
    const dir = join(ctx.images.dir, 'blobs', 'sha256');
    for (const name of await names(dir)) {
      if (!HEX.test(name) || live.has(`sha256:${name}`)) continue;
      out.blobBytes += await remove(join(dir, name));
      out.blobs++;
    }
  }
  if (!parts.staging) return out;
  const listed = new Set<string>();
  const environments = new Set<string>();
  for (const s of await ctx.db.selectFrom('snapshots').select('manifest').execute()) {
    const m = safeJson(s.manifest);
    collectShas(m, listed);
    const digest = (m as { environmentDigest?: unknown } | null)?.environmentDigest;
    if (typeof digest === 'string' && HEX.test(digest)) environments.add(digest);
  }
  // a row names its environment by digest (snapshots/environments.ts): the files that one lists count too
  for (const digest of environments) collectShas(safeJson(await readFile(join(environmentsDir(ctx), `${digest}.json`), 'utf8').catch(() => 'null')), listed);
  for (const name of await names(ctx.dirs.blobs)) {
    if (!HEX.test(name) || listed.has(name)) continue;
    out.stagedBytes += await remove(join(ctx.dirs.blobs, name));
    out.staged++;
  }
  return out;
}

/** every blob a tagged manifest reaches: the manifest, its config and layers, and what an index names */
async function reachable(store: OciLayoutStore): Promise<Set<string>> {
  const live = new Set<string>();
  const visit = async (digest: string): Promise<void> => {
    if (live.has(digest)) return;
    live.add(digest);
    if (!(await store.hasBlob(digest))) return;
    const doc = safeJson((await store.readBlob(digest)).toString('utf8')) as { config?: { digest?: string }; layers?: Array<{ digest?: string }>; manifests?: Array<{ digest?: string }>; subject?: { digest?: string } } | null;
    if (!doc || typeof doc !== 'object') return;
    if (typeof doc.config?.digest === 'string') live.add(doc.config.digest);
    for (const l of doc.layers ?? []) if (typeof l.digest === 'string') live.add(l.digest);
    for (const m of doc.manifests ?? []) if (typeof m.digest === 'string') await visit(m.digest);
  };
  for (const d of await store.listManifests()) await visit(d.digest);
  return live;
}

/** the layer digests the dependency-layer cache remembers (reused by a later save without a rebuild) */
async function remembered(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await names(dir)) {
    if (!name.endsWith('.json')) continue;
    const doc = safeJson(await readFile(join(dir, name), 'utf8').catch(() => '')) as { digest?: unknown } | null;
    if (doc && typeof doc.digest === 'string') out.push(doc.digest);
  }
  return out;
}

function collectShas(v: unknown, into: Set<string>): void {
  if (typeof v === 'string') {
    if (HEX.test(v)) into.add(v);
  } else if (Array.isArray(v)) {
    for (const x of v) collectShas(x, into);
  } else if (v && typeof v === 'object') {
    for (const x of Object.values(v)) collectShas(x, into);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function remove(path: string): Promise<number> {
  const size = (await stat(path).catch(() => null))?.size ?? 0;
  await rm(path, { force: true });
  return size;
}
