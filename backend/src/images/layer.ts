/**
 * Deterministic layer writer: same entries ⇒ same bytes ⇒ same digests.
 *
 * The tar has entries sorted by their UTF-8 bytes, every parent directory
 * emitted (0755), mtime 0, uid/gid 0, empty uname/gname, no "./" prefix
 * (tar-stream writes ustar, pax records for long or non-ASCII names). It is
 * gzipped by Node's zlib at level 6, whose header carries no file name and a
 * zero mtime. The diffId is the sha256 of the tar, the digest that of the gzip.
 * The blob is staged in a temp file, then handed to the store, which verifies it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { ImageStore } from './image-store';

export const MEDIA_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export type LayerEntry =
  | { type: 'file'; path: string; mode: number; source: { file: string } | { data: Buffer } }
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

export interface WrittenLayer {
  /** sha256:… of the gzipped blob */
  digest: string;
  /** sha256:… of the uncompressed tar */
  diffId: string;
  /** bytes of the gzipped blob */
  size: number;
}

const EPOCH = new Date(0);

/** "/a/b/" or "a//b" ⇒ "a/b"; refuses "." and ".." segments and NUL */
export function normalizeImagePath(path: string): string {
  const parts = path.split('/').filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error(`layer entry path ${JSON.stringify(path)} is empty`);
  for (const p of parts) {
    if (p === '.' || p === '..' || p.includes('\0')) throw new Error(`layer entry path ${JSON.stringify(path)} has a "${p}" segment`);
  }
  return parts.join('/');
}

/** the entries with parents added, normalized, sorted; throws on duplicates and file/dir clashes */
export function planLayer(entries: LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) {
    const path = normalizeImagePath(e.path);
    const prev = byPath.get(path);
    if (prev && !(prev.type === 'dir' && e.type === 'dir')) throw new Error(`layer entry "${path}" is listed twice`);
    byPath.set(path, { ...e, path });
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = byPath.get(parent);
      if (!existing) byPath.set(parent, { type: 'dir', path: parent });
      else if (existing.type !== 'dir') throw new Error(`layer entry "${path}" is inside "${parent}", which is not a directory`);
    }
  }
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

function hashing(hash: ReturnType<typeof createHash>, count?: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      if (count) count.n += chunk.length;
      cb(null, chunk);
    },
  });
}

async function writeEntry(pack: tar.Pack, e: LayerEntry): Promise<void> {
  const base = { name: e.path, mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
  if (e.type === 'dir') {
    await new Promise<void>((res, rej) => pack.entry({ ...base, type: 'directory', mode: (e.mode ?? 0o755) & 0o7777 }, (err) => (err ? rej(err) : res())));
    return;
  }
  if (e.type === 'symlink') {
    await new Promise<void>((res, rej) => pack.entry({ ...base, type: 'symlink', mode: 0o777, linkname: e.target }, (err) => (err ? rej(err) : res())));
    return;
  }
  const mode = e.mode & 0o7777 || 0o644;
  if ('data' in e.source) {
    const data = e.source.data;
    await new Promise<void>((res, rej) => pack.entry({ ...base, type: 'file', mode, size: data.length }, data, (err) => (err ? rej(err) : res())));
    return;
  }
  const file = e.source.file;
  const size = (await stat(file)).size;
  let sink!: ReturnType<tar.Pack['entry']>;
  const done = new Promise<void>((res, rej) => {
    sink = pack.entry({ ...base, type: 'file', mode, size }, (err) => (err ? rej(err) : res()));
  });
  await Promise.all([pipeline(createReadStream(file), sink), done]);
}

/** Writes the layer for `entries` into `store`; returns its digests and size. */
export async function writeLayer(store: ImageStore, entries: LayerEntry[], opts: { tmpDir?: string } = {}): Promise<WrittenLayer> {
  const plan = planLayer(entries);
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'trainyard-layer-'));
  try {
    const file = join(dir, 'layer.tar.gz');
    const tarHash = createHash('sha256');
    const gzHash = createHash('sha256');
    const gzSize = { n: 0 };
    const pack = tar.pack();
    const written = pipeline(pack, hashing(tarHash), createGzip({ level: 6 }), hashing(gzHash, gzSize), createWriteStream(file));
    const fed = (async () => {
      try {
        for (const e of plan) await writeEntry(pack, e);
        pack.finalize();
      } catch (err) {
        pack.destroy(err as Error);
        throw err;
      }
    })();
    await Promise.all([written, fed]);
    const layer: WrittenLayer = { digest: `sha256:${gzHash.digest('hex')}`, diffId: `sha256:${tarHash.digest('hex')}`, size: gzSize.n };
    if (!(await store.hasBlob(layer.digest))) await store.putBlob(layer.digest, createReadStream(file));
    return layer;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
