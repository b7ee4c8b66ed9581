/**
 * Run artifacts: keeping a run's output files when it ends, listing and
 * serving them, and handing a training run's files to a later run.
 *
 * Keeping is idempotent and all-or-nothing: blobs first (content-addressed,
 * each one atomic in the store), then the tagged manifest, then the rows in
 * one transaction. A backend killed half-way leaves no rows, and the run is
 * still unfinished in the store, so the next start collects it again.
 */
import { copyFile, chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { constants, createReadStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { FINAL_STATUSES, isArtifactPath, type ArtifactFile, type ArtifactList, type ArtifactReport } from '@trainyard/shared';
import { timeStage } from '@trainyard/shared/snapshot/stages';
import type { AppContext } from '../context';
import { conflict, HttpError, invalid, notFound } from '../errors';
import { nowIso } from '../ids';
import { getRunRow } from '../runs/store';
import { HashedFiles } from './hashed-files';
import { pushAhead, putArtifact, tagArtifact, type ArtifactMeta } from './oci-artifact';
import { scanOutputDir, withinLimits } from './scan';
import { getArtifactFile, getOutputs, latestStoredRun, recordOutputs } from './store';

const finalSet = new Set<string>(FINAL_STATUSES);
const PUSH_ATTEMPTS = 3;

export class ArtifactsService {
  /** output files hashed before: an unchanged one is not read again */
  private readonly hashed = new HashedFiles();

  constructor(private readonly ctx: AppContext) {}

  /**
   * Keeps the files under `outputDir` as the run's artifacts. Returns what the run's reason should
   * say about them (files dropped, or why nothing was kept), or null when there is nothing to say.
   */
  async collect(meta: ArtifactMeta, outputDir: string): Promise<string | null> {
    const existing = await getOutputs(this.ctx.db, meta.runId);
    if (existing) return existing.note; // kept by an earlier life of the backend
    const scan = await scanOutputDir(outputDir, this.ctx.config.artifacts);
    const dropped = scan.dropped.length ? `artifacts: dropped ${scan.dropped.join('; ')}` : null;
    if (scan.files.length === 0) {
      await recordOutputs(this.ctx.db, { runId: meta.runId, state: 'none', ref: null, digest: null, totalBytes: 0, note: dropped, files: [] }, nowIso());
      return dropped;
    }
    const files: Array<ArtifactFile & { abs: string }> = [];
    // largest first, each pushed to a registry as soon as it is hashed
    const ahead = pushAhead(this.ctx.images, meta.model);
    await timeStage('artifacts: hash', async () => {
      for (const f of [...scan.files].sort((a, b) => b.size - a.size)) {
        const file = { path: f.path, abs: f.abs, ...(await this.hashed.hash(f.abs)) };
        files.push(file);
        ahead.add(file);
      }
    });
    await timeStage('artifacts: push ahead', () => ahead.settled());
    let lastErr: Error | null = null;
    for (let attempt = 0; attempt < PUSH_ATTEMPTS; attempt++) {
      try {
        const { ref, digest } = await timeStage('artifacts: store and push', () => putArtifact(this.ctx.images, meta, files));
        const totalBytes = files.reduce((n, f) => n + f.size, 0);
        await recordOutputs(
          this.ctx.db,
          { runId: meta.runId, state: 'stored', ref, digest, totalBytes, note: dropped, files: files.map(({ path, size, sha256 }) => ({ path, size, sha256 })) },
          nowIso(),
        );
        return dropped;
      } catch (err) {
        lastErr = err as Error;
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
    const note = `artifacts could not be kept: ${lastErr?.message ?? 'unknown error'}`;
    await recordOutputs(this.ctx.db, { runId: meta.runId, state: 'failed', ref: null, digest: null, totalBytes: 0, note, files: [] }, nowIso());
    return note;
  }

  /**
   * A blob of run `runId`'s outputs, pushed by the run itself (a pod's finish step): streamed into
   * the image store, verified against sha256, at most artifacts.maxBytes. Nothing is stored on a
   * mismatch or a broken upload.
   */
  async receiveBlob(runId: string, sha256: string, body: Readable): Promise<{ sha256: string; size: number }> {
    const run = await getRunRow(this.ctx.db, runId);
    if (!run) throw notFound(`run ${runId} not found`);
    if (await getOutputs(this.ctx.db, runId)) throw conflict(`the artifacts of run ${runId} are already kept`);
    const digest = `sha256:${sha256}`;
    const max = this.ctx.config.artifacts.maxBytes;
    let size = 0;
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          if (size > max) return cb(new HttpError('payload_too_large', `a run keeps at most ${max} bytes of artifacts (artifacts.maxBytes); this file is larger`));
          cb(null, chunk);
        },
      }),
    );
    body.on('error', (err) => counted.destroy(err));
    if (!(await this.ctx.images.hasBlob(digest))) {
      try {
        await this.ctx.images.putBlob(digest, counted);
      } catch (err) {
        if (err instanceof HttpError) throw err;
        if (/mismatch|digest/i.test((err as Error).message)) throw invalid(`the uploaded bytes do not hash to sha256 ${sha256}; nothing was stored: ${(err as Error).message}`);
        throw err;
      }
    } else {
      for await (const _ of counted) void _; // already held: read and drop the body
    }
    return { sha256, size };
  }

  /**
   * What run `runId` reports as its outputs: the files within the limits are kept (their blobs must
   * have been pushed: a 409 lists the ones still missing), the rest are named in the note.
   */
  async commit(runId: string, report: ArtifactReport): Promise<ArtifactList> {
    const run = await getRunRow(this.ctx.db, runId);
    if (!run) throw notFound(`run ${runId} not found`);
    const seen = new Set<string>();
    for (const f of report.files) {
      if (!isArtifactPath(f.path)) throw invalid(`artifact path ${JSON.stringify(f.path.slice(0, 200))} is not run-relative (no "..", no leading or doubled "/", no control characters)`);
      if (seen.has(f.path)) throw invalid(`artifact path ${JSON.stringify(f.path)} is listed twice`);
      seen.add(f.path);
    }
    const existing = await getOutputs(this.ctx.db, runId);
    if (existing) return this.list(runId);
    const fit = withinLimits(report.files, this.ctx.config.artifacts);
    const missing: string[] = [];
    for (const f of fit.kept) if (!(await this.ctx.images.hasBlob(`sha256:${f.sha256}`))) missing.push(f.sha256);
    if (missing.length) throw conflict(`upload these ${missing.length} blob(s) first (PUT /v1/runs/${runId}/artifact-blobs/SHA256)`, { missing: [...new Set(missing)] });
    const dropped = [...(report.dropped ?? []), ...fit.dropped];
    const note = dropped.length ? `artifacts: dropped ${dropped.join('; ')}` : null;
    const meta = { runId, model: run.model, version: run.version, entrypoint: run.entrypoint, params: JSON.parse(run.params) as Record<string, unknown> };
    const files = fit.kept.map(({ path, size, sha256 }) => ({ path, size, sha256 }));
    if (files.length === 0) {
      await recordOutputs(this.ctx.db, { runId, state: 'none', ref: null, digest: null, totalBytes: 0, note, files: [] }, nowIso());
    } else {
      const { ref, digest } = await tagArtifact(this.ctx.images, meta, files);
      await recordOutputs(this.ctx.db, { runId, state: 'stored', ref, digest, totalBytes: files.reduce((n, f) => n + f.size, 0), note, files }, nowIso());
    }
    return this.list(runId);
  }

  async list(runId: string): Promise<ArtifactList> {
    const run = await getRunRow(this.ctx.db, runId);
    if (!run) throw notFound(`run ${runId} not found`);
    const rec = await getOutputs(this.ctx.db, runId);
    if (!rec) {
      const final = finalSet.has(run.status);
      return { runId, state: final ? 'none' : 'pending', ref: null, digest: null, files: [], totalBytes: 0, note: final ? 'the run kept no output files' : null };
    }
    return { runId, state: rec.state, ref: rec.ref, digest: rec.digest, files: rec.files, totalBytes: rec.totalBytes, note: rec.note };
  }

  /** One artifact's bytes [start, end] (inclusive), from the image store. */
  async open(runId: string, path: string, range?: { start: number; end: number }): Promise<{ file: ArtifactFile; stream: Readable }> {
    const run = await getRunRow(this.ctx.db, runId);
    if (!run) throw notFound(`run ${runId} not found`);
    const file = await getArtifactFile(this.ctx.db, runId, path);
    if (!file) throw notFound(`run ${runId} has no artifact "${path}"; list them with GET /v1/runs/${runId}/artifacts`);
    const local = await this.localBlob(run.model, (await getOutputs(this.ctx.db, runId))?.digest ?? null, file.sha256);
    const stream = createReadStream(local, range ? { start: range.start, end: range.end } : {});
    return { file, stream };
  }

  /**
   * Which training run a launch with `fromRun` reads: an id (checked: same model, ended, with
   * artifacts) or "latest" (the newest succeeded train run with artifacts).
   */
  async resolveInput(model: string, fromRun: string): Promise<string> {
    if (fromRun === 'latest') {
      const id = await latestStoredRun(this.ctx.db, model, 'train');
      if (!id) throw invalid(`fromRun "latest": model ${model} has no succeeded train run with artifacts yet; train it first, or name a run id`);
      return id;
    }
    const run = await getRunRow(this.ctx.db, fromRun);
    if (!run) throw invalid(`fromRun: run ${fromRun} not found`);
    if (run.model !== model) throw invalid(`fromRun: run ${fromRun} is a run of model ${run.model}, not ${model}`);
    if (!finalSet.has(run.status)) throw invalid(`fromRun: run ${fromRun} is ${run.status}; its artifacts exist once it has ended`);
    const rec = await getOutputs(this.ctx.db, fromRun);
    if (!rec || rec.state !== 'stored') throw invalid(`fromRun: run ${fromRun} kept no artifacts${rec?.note ? ` (${rec.note})` : ''}`);
    return fromRun;
  }

  /** Copies the artifacts of `inputRunId` into dest, read-only (a run cannot change what another run made). */
  async materializeInput(inputRunId: string, dest: string): Promise<void> {
    const run = await getRunRow(this.ctx.db, inputRunId);
    const rec = await getOutputs(this.ctx.db, inputRunId);
    if (!run || !rec || rec.state !== 'stored') throw new Error(`the artifacts of run ${inputRunId} are gone`);
    await makeWritable(dest);
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest, { recursive: true });
    const dirs = new Set<string>([dest]);
    for (const f of rec.files) {
      const target = join(dest, ...f.path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      for (let d = dirname(target); d.startsWith(dest) && d !== dest; d = dirname(d)) dirs.add(d);
      // a reflink where the file system can, else a copy: never a hard link to the store's own blob
      await copyFile(await this.localBlob(run.model, rec.digest, f.sha256), target, constants.COPYFILE_FICLONE);
      await chmod(target, 0o444);
    }
    for (const d of dirs) await chmod(d, 0o555);
  }

  /** A path on this machine holding the blob; `manifest` (the run's artifact manifest, in the model's repository) lists it. */
  private async localBlob(model: string, manifest: string | null, sha256: string): Promise<string> {
    const images = this.ctx.images;
    if (!images.localBlobPath) throw new Error(`the image store ${images.location} cannot serve files`);
    return images.localBlobPath(`sha256:${sha256}`, manifest ? { repo: model, ref: manifest } : undefined);
  }
}

/** chmod u+w on a tree made read-only by materializeInput, so that it can be removed */
export async function makeWritable(dir: string): Promise<void> {
  try {
    await chmod(dir, 0o755);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) await makeWritable(join(dir, e.name));
  }
}
