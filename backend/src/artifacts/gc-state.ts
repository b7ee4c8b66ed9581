/**
 * Whether the start-up garbage collection (retention.ts) has anything to find, without reading
 * a manifest. Garbage appears only where an entry is added or removed: a blob or a tag in the
 * OCI layout (blobs a save or run never tagged, a tag removed or moved), a remembered dependency
 * layer, an upload in the staging folder. Blobs and uploads are directory entries; tags live in
 * index.json and remembered layers in files, all replaced by rename. So the mtime and inode of
 * those directories and of index.json change with every such event. After a collection at start
 * (nothing else is writing then), their stats go to <home>/gc-state.json; the next start collects
 * a part only when its stats differ, the file is missing or unreadable, or they were too fresh to
 * trust (a change in the same clock tick as the recorded one would not move the mtime).
 * Snapshot rows are never deleted, so an upload a snapshot lists cannot become garbage without
 * a change in the staging folder.
 */
import { readFile, stat } from 'node:fs/promises';
import { writeAtomic } from '@trainyard/shared/write-atomic';
import { join } from 'node:path';
import type { AppContext } from '../context';
import { OciLayoutStore } from '../images/oci-layout';
import { collectGarbage, dependencyLayersDir, type Collected, type GcParts } from './retention';

/** stats younger than this when recorded are not trusted (file system timestamps move in clock ticks) */
const SETTLE_MS = 2000;

type Part = keyof GcParts;
type Fingerprints = Record<Part, string | null>;

export interface StartupGc {
  /** the parts collected; the others had nothing new */
  collected: Part[];
  removed: Collected;
}

/** Collects the parts that changed since the last start's collection, then records their stats. */
export async function collectGarbageAtStart(ctx: AppContext, opts: { settleMs?: number } = {}): Promise<StartupGc> {
  const file = join(ctx.config.home, 'gc-state.json');
  const before = await readState(file);
  const now = await fingerprints(ctx, opts.settleMs ?? SETTLE_MS);
  const parts: GcParts = { layout: !same(before?.layout, now.layout), staging: !same(before?.staging, now.staging) };
  const removed = await collectGarbage(ctx, parts);
  const after = parts.layout || parts.staging ? await fingerprints(ctx, opts.settleMs ?? SETTLE_MS) : now;
  await writeAtomic(file, JSON.stringify(after));
  return { collected: (Object.keys(parts) as Part[]).filter((p) => parts[p]), removed };
}

function same(a: string | null | undefined, b: string | null): boolean {
  return a != null && b != null && a === b;
}

async function fingerprints(ctx: AppContext, settleMs: number): Promise<Fingerprints> {
  const layout = ctx.images instanceof OciLayoutStore
    ? [join(ctx.images.dir, 'index.json'), join(ctx.images.dir, 'blobs', 'sha256'), dependencyLayersDir(ctx)]
    : [];
  return { layout: await statsOf(layout, settleMs), staging: await statsOf([ctx.dirs.blobs], settleMs) };
}

/** inode, mtime and size of each path ("-" when missing); null when one changed too recently to trust */
async function statsOf(paths: string[], settleMs: number): Promise<string | null> {
  const out: string[] = [];
  const cutoff = BigInt(Date.now() - settleMs) * 1_000_000n;
  for (const p of paths) {
    const s = await stat(p, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (s && s.mtimeNs > cutoff) return null;
    out.push(s ? `${s.dev}:${s.ino}:${s.mtimeNs}:${s.size}` : '-');
  }
  return out.join(' ');
}

async function readState(file: string): Promise<Partial<Fingerprints> | null> {
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return doc && typeof doc === 'object' ? (doc as Partial<Fingerprints>) : null;
  } catch {
    return null; // missing or unreadable: collect everything
  }
}
