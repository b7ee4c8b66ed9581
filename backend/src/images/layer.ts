/**
 * Deterministic layer writer: same entries ⇒ same bytes ⇒ same digests.
 *
 * The tar has entries sorted by their UTF-8 bytes, every parent directory
 * emitted (0755), mtime 0, uid/gid 0, empty uname/gname, no "./" prefix
 * (tar-stream writes ustar, pax records for long or non-ASCII names), no setuid/setgid bits.
 *
 * Compression: compression.ts (gzip at a level, or zstd; same tar ⇒ same blob). With cutAfter
 * (the code layer), a compression piece also ends after each entry it names: same tar and same
 * entries named ⇒ same blob.
 *
 * The diffId is the sha256 of the tar, the digest that of the compressed blob. The blob is
 * staged in a temp file (in the store's own staging folder when it has one, then
 * moved in by rename: putBlobFile), else streamed to the store, which verifies it.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { BlobUpload, ImageStore } from './image-store';
import { recordStage, timeStage } from '@trainyard/shared/snapshot/stages';
import { statKey } from '@trainyard/shared/snapshot/hash-cache';
import { NotRegularFile, readSmallSync, SyncReads } from '@trainyard/shared/snapshot/small-read';
import { sortByUtf8 } from '@trainyard/shared/utf8-sort';
import { sha256Hex } from '@trainyard/shared/sha256';
import { compressStream, DEFAULT_COMPRESSION, layerMediaType, PIECE_END, type Compression, type CompressStats, type PieceCache } from './compression';
import type { ByteLru } from './byte-lru';
import { END_OF_ARCHIVE, groupEnds, groupKey } from './layer-groups';

export { MEDIA_LAYER_GZIP } from './compression';

export type LayerEntry =
  | { type: 'file'; path: string; mode: number; source: FileSource | { data: Buffer } }
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

/**
 * A file on this machine; with sha256, its bytes are hashed as they are read and the layer fails
 * unless they match. With statKey too (the file's stat key, hash-cache.ts, when those bytes were
 * hashed to sha256 and the file had settled: local-files.ts), a file read whole that has that stat
 * key before and after the read is taken without hashing it again, as the hash caches trust it.
 * With data: the bytes read and hashed to sha256 when the file was verified moments before
 * (local-files.ts holds a snapshot's small files for its build): taken as they are, unread.
 * With size: a file taken without being read (local-files.ts DEFER_MIN), named by the client
 * with that size and sha256: the layer fails unless it has both, with one message for whatever
 * went wrong (missing, unreadable, not a regular file, another size, other bytes).
 */
export type FileSource = { file: string; sha256?: string; statKey?: string; data?: Buffer; size?: number };

/** a file read in place no longer has the content the client hashed */
export class SourceChangedError extends Error {}

const notRegular = (src: FileSource) => new SourceChangedError(`${src.file} is no longer a regular file; save again`);

const checkSource = (src: FileSource, got: string) => {
  if (src.sha256 && got !== src.sha256) throw new SourceChangedError(`${src.file} changed while saving (it no longer hashes to the sha256 the client sent); save again`);
};

/** a file taken unread that the build could not read as named: the same words for every cause */
const notAsNamed = (src: FileSource) =>
  new SourceChangedError(`${src.file} did not hold the ${src.size} bytes the client named when the build read it (changed, moved or unreadable since it was hashed); save again`);

/** whether `err` is about reading a file (a system call's error, or the checks above), not about the layer's streams */
const readFailure = (err: unknown) => err instanceof SourceChangedError || /^E[A-Z]+$/.test(String((err as NodeJS.ErrnoException)?.code));

export interface WrittenLayer {
  /** sha256:… of the compressed blob */
  digest: string;
  /** sha256:… of the uncompressed tar */
  diffId: string;
  /** bytes of the compressed blob */
  size: number;
  /** the layer media type of its compression (gzip or zstd) */
  mediaType: string;
}

const EPOCH = new Date(0);

/** a path already as normalizeImagePath makes it: no "/" at either end, no "//", no "." or ".." segment, no NUL */
const isNormalPath = (p: string) => p.length > 0 && p[0] !== '/' && !p.endsWith('/') && !p.includes('//') && !p.includes('\0') && !/(^|\/)\.\.?(\/|$)/.test(p);

/** "/a/b/" or "a//b" ⇒ "a/b"; refuses "." and ".." segments and NUL */
export function normalizeImagePath(path: string): string {
  if (isNormalPath(path)) return path;
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
  // each entry's parents, nearest first, up to one already there (whose own parents are or will be seen)
  for (const path of [...byPath.keys()]) {
    for (let end = path.lastIndexOf('/'); end > 0; end = path.lastIndexOf('/', end - 1)) {
      const parent = path.slice(0, end);
      const existing = byPath.get(parent);
      if (!existing) byPath.set(parent, { type: 'dir', path: parent });
      else if (existing.type !== 'dir') throw new Error(`layer entry "${path}" is inside "${parent}", which is not a directory`);
      else break;
    }
  }
  return sortByUtf8([...byPath.values()], (e) => e.path);
}

/**
 * Passes chunks on, hashing them. Its readable side hands them out one by one (object mode): read
 * as an async iterable, a byte-mode stream would join all it holds into a fresh buffer on every read.
 */
function hashing(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
}

/** tar chunks smaller than this are gathered into blocks of this size before they are hashed and compressed */
const BLOCK = 64 << 10;

/**
 * hashing(), for the tar: the pack's small chunks (a header, a small file's bytes and padding:
 * three per file) are copied into BLOCK-sized blocks first, so the hash, the CRC-32 and the
 * compressor see one chunk per 64 KiB, not three per file (a layer of 20,000 small files spent
 * ~40 ms in CRC-32 calls alone). A chunk of BLOCK or more passes as it is.
 */
function hashingInBlocks(hash: ReturnType<typeof createHash>): Transform {
  let block = Buffer.allocUnsafe(BLOCK);
  let used = 0;
  const out = (t: Transform, b: Buffer) => {
    hash.update(b);
    t.push(b);
  };
  const flush = (t: Transform) => {
    if (!used) return;
    out(t, block.subarray(0, used));
    block = Buffer.allocUnsafe(BLOCK);
    used = 0;
  };
  return new Transform({
    objectMode: true, // PIECE_END passes through, after the bytes before it
    transform(chunk: Buffer | typeof PIECE_END, _enc, cb) {
      if (chunk === PIECE_END) {
        flush(this);
        this.push(chunk);
        return cb();
      }
      if (used + chunk.length > BLOCK) flush(this);
      if (chunk.length >= BLOCK) out(this, chunk);
      else used += chunk.copy(block, used);
      cb();
    },
    flush(cb) {
      flush(this);
      cb();
    },
  });
}

/**
 * The mode bits a layer keeps: permissions and sticky, never setuid (0o4000) or setgid (0o2000),
 * whatever the caller's manifest or the file on disk says, so a snapshot cannot bring a
 * privilege-raising file into an image.
 */
const PERMISSIONS = 0o1777;

/** files up to this size are read whole, ahead of the tar writer */
const PREFETCH_MAX = 1 << 20;
const PREFETCH_AHEAD = 16;

/** a small file read whole: its bytes, and whether its stat key was `statKey` before and after the read (then they are the ones hashed before) */
type Prefetched = { data: Buffer; unchanged: boolean } | null;

async function readWhole(src: FileSource, reads: SyncReads): Promise<Prefetched> {
  if (reads.blocking) {
    let small;
    try {
      small = readSmallSync(src.file, reads);
    } catch (err) {
      throw err instanceof NotRegularFile ? notRegular(src) : err;
    }
    if (small) return { data: small.data, unchanged: !!src.statKey && statKey(small.before) === src.statKey && statKey(small.after) === src.statKey };
  }
  const fh = await open(src.file, constants.O_RDONLY | constants.O_NONBLOCK); // as readSmallSync
  try {
    const before = await fh.stat({ bigint: true });
    if (!before.isFile()) throw notRegular(src);
    if (before.size > BigInt(PREFETCH_MAX)) return null;
    const data = await fh.readFile();
    const unchanged = !!src.statKey && statKey(before) === src.statKey && statKey(await fh.stat({ bigint: true })) === src.statKey;
    return { data, unchanged };
  } finally {
    await fh.close();
  }
}

async function writeEntry(pack: tar.Pack, e: LayerEntry, prefetched?: Promise<Prefetched>): Promise<void> {
  const base = { name: e.path, mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
  if (e.type === 'dir') {
    await new Promise<void>((res, rej) => pack.entry({ ...base, type: 'directory', mode: (e.mode ?? 0o755) & PERMISSIONS }, (err) => (err ? rej(err) : res())));
    return;
  }
  if (e.type === 'symlink') {
    await new Promise<void>((res, rej) => pack.entry({ ...base, type: 'symlink', mode: 0o777, linkname: e.target }, (err) => (err ? rej(err) : res())));
    return;
  }
  const mode = e.mode & PERMISSIONS || 0o644;
  const held = 'data' in e.source ? e.source.data : undefined;
  if (held) {
    const data = held;
    await new Promise<void>((res, rej) => pack.entry({ ...base, type: 'file', mode, size: data.length }, data, (err) => (err ? rej(err) : res())));
    return;
  }
  const src = e.source as FileSource;
  if (src.size === undefined) return writeFileEntry(pack, base, mode, src, prefetched);
  try {
    await writeFileEntry(pack, base, mode, src, prefetched);
  } catch (err) {
    throw readFailure(err) ? notAsNamed(src) : err;
  }
}

async function writeFileEntry(pack: tar.Pack, base: Pick<tar.Header, 'name' | 'mtime' | 'uid' | 'gid' | 'uname' | 'gname'>, mode: number, src: FileSource, prefetched?: Promise<Prefetched>): Promise<void> {
  const got = prefetched ? await prefetched : null;
  if (got) {
    const { data } = got;
    if (src.size !== undefined && data.length !== src.size) throw notAsNamed(src);
    if (src.sha256 && !got.unchanged) checkSource(src, sha256Hex(data));
    await new Promise<void>((res, rej) => pack.entry({ ...base, type: 'file', mode, size: data.length }, data, (err) => (err ? rej(err) : res())));
    return;
  }
  const size = (await stat(src.file)).size;
  // a file taken unread must have the size named (one that grows meanwhile overruns its tar entry: the layer fails)
  if (src.size !== undefined && size !== src.size) throw notAsNamed(src);
  let settle!: (err?: Error | null) => void;
  const done = new Promise<void>((res, rej) => (settle = (err) => (err ? rej(err) : res())));
  // not inside the promise: a pack destroyed meanwhile (the layer stopped during the awaits above)
  // makes entry() throw, and a throw there would leave no sink (a pipeline into undefined, its read stream left open)
  const sink = pack.entry({ ...base, type: 'file', mode, size }, settle);
  const hash = src.sha256 ? createHash('sha256') : null;
  await Promise.all([hash ? pipeline(createReadStream(src.file), hashing(hash), sink) : pipeline(createReadStream(src.file), sink), done]);
  if (hash) checkSource(src, hash.digest('hex'));
}

/** Writes the layer for `entries` into `store`; returns its digests and size. */
export interface WriteLayerOptions {
  tmpDir?: string;
  compression?: Compression;
  /** an upload the compressed bytes are also sent to as they are made (ImageStore.beginUpload); its failure does not fail the layer */
  upload?: () => BlobUpload | undefined;
  /** stops the write: it rejects with the signal's reason, and leaves no blob and no upload behind */
  signal?: AbortSignal;
  /**
   * a compression piece ends after each entry (of the sorted plan, parents added) this says yes
   * to, besides every PIECE bytes (compression.ts); a function of the path alone, so an edit to
   * one file leaves the other pieces' bytes as they were
   */
  cutAfter?: (path: string) => boolean;
  /** the output of pieces compressed before, given back instead of compressing them again */
  pieceCache?: PieceCache;
  /**
   * with cutAfter: the tar bytes of groups written before, by what they follow from (groupKey),
   * given back instead of reading and packing their files again (a group with a file not named
   * by sha256 is always written)
   */
  groupCache?: ByteLru;
}

export async function writeLayer(store: ImageStore, entries: LayerEntry[], opts: WriteLayerOptions = {}): Promise<WrittenLayer> {
  const started = performance.now();
  const compression = opts.compression ?? DEFAULT_COMPRESSION;
  const plan = planLayer(entries);
  const staging = opts.tmpDir ?? (store.stagingDir ? await store.stagingDir() : tmpdir());
  const dir = await mkdtemp(join(staging, 'trainyard-layer-'));
  try {
    const file = join(dir, 'layer.blob');
    const tarHash = createHash('sha256');
    const blobHash = createHash('sha256');
    const blobSize = { n: 0 };
    const stats: CompressStats = { pieceMs: 0, inputBytes: 0 };
    const upload = opts.upload?.();
    // each piece's output: hashed, then written with one writev while it is sent to the upload (whose failure is not the layer's)
    const sink = async (pieces: AsyncIterable<Buffer[]>) => {
      const out = await open(file, 'w');
      try {
        for await (const parts of pieces) {
          for (const p of parts) {
            blobHash.update(p);
            blobSize.n += p.length;
          }
          await Promise.all([out.writev(parts), ...(upload ? parts.map((p) => upload.write(p).catch(() => undefined)) : [])]);
        }
      } finally {
        await out.close();
      }
    };
    // small files are read a few entries ahead of the tar writer (one stream per file is slow)
    const reads = new Map<number, Promise<Prefetched>>();
    const blocking = new SyncReads(); // small files: blocking reads (small-read.ts)
    const ends = groupEnds(plan, opts.cutAfter);
    // groups whose tar bytes are known: given back, their files not read
    const keys = opts.groupCache ? ends.map((to, g) => groupKey(plan, g ? ends[g - 1] : 0, to)) : [];
    const known = keys.map((key) => (key ? opts.groupCache!.get(key) : undefined));
    const unread = new Uint8Array(plan.length);
    known.forEach((bytes, g) => bytes && unread.fill(1, g ? ends[g - 1] : 0, ends[g]));
    const prefetch = (i: number) => {
      const e = plan[i];
      if (!e || e.type !== 'file' || !('file' in e.source) || e.source.data || reads.has(i) || unread[i]) return;
      const p = readWhole(e.source, blocking);
      p.catch(() => undefined); // awaited by writeEntry
      reads.set(i, p);
    };
    // the entries go into one tar pack, or with cutAfter one per group: a group's pack ends without
    // the end-of-archive blocks, and PIECE_END follows it (END_OF_ARCHIVE the last)
    let pack: tar.Pack | null = null;
    const feed = async (into: tar.Pack, from: number, to: number, finalize: boolean) => {
      try {
        for (let i = from; i < to; i++) {
          opts.signal?.throwIfAborted();
          for (let j = i; j < Math.min(plan.length, i + PREFETCH_AHEAD); j++) prefetch(j);
          const p = reads.get(i);
          reads.delete(i);
          await writeEntry(into, plan[i], p);
        }
        if (finalize) into.finalize();
        else into.push(null);
      } catch (err) {
        into.destroy(err as Error);
        throw err;
      }
    };
    async function* tarBytes(): AsyncGenerator<Buffer | typeof PIECE_END> {
      for (let g = 0, from = 0; g < ends.length; from = ends[g++]) {
        opts.signal?.throwIfAborted();
        if (known[g]) {
          yield known[g]!;
        } else {
          const into = (pack = tar.pack());
          const fed = feed(into, from, ends[g], false);
          fed.catch(() => undefined); // awaited below, for its own error rather than the pack's
          // the group's bytes, kept for the cache while they fit in it
          let kept: Buffer[] | null = keys[g] ? [] : null;
          let keptBytes = 0;
          try {
            for await (const chunk of into) {
              if (kept && (keptBytes += (chunk as Buffer).length) <= opts.groupCache!.maxBytes) kept.push(chunk as Buffer);
              else kept = null;
              yield chunk as Buffer;
            }
          } catch (err) {
            await fed;
            throw err;
          }
          await fed;
          if (kept) opts.groupCache!.set(keys[g]!, Buffer.concat(kept));
        }
        yield g < ends.length - 1 ? PIECE_END : END_OF_ARCHIVE;
      }
    }
    const stop = () => pack?.destroy(opts.signal!.reason as Error);
    opts.signal?.addEventListener('abort', stop, { once: true });
    // one group: its pack is piped as it is (a generator's hop per chunk cost ~4% on a layer of 20,000 small files)
    let fedOne: Promise<void> | null = null;
    if (ends.length === 1 && !opts.groupCache) fedOne = feed((pack = tar.pack()), 0, plan.length, true);
    const written = pipeline(fedOne ? pack! : tarBytes, hashingInBlocks(tarHash), (src: AsyncIterable<Buffer | typeof PIECE_END>) => compressStream(src, compression, undefined, stats, opts.pieceCache), sink);
    await Promise.all([written, fedOne])
      .catch((err: unknown) => {
        upload?.abort(); // no half-sent blob left streaming
        // stopped: the reason, whichever part failed first (the feed can fail on the pack the abort destroyed before the pipeline ends)
        throw opts.signal?.aborted ? opts.signal.reason : err;
      })
      .finally(() => opts.signal?.removeEventListener('abort', stop));
    if (opts.signal?.aborted) {
      upload?.abort();
      throw opts.signal.reason;
    }
    // the pieces overlap: their summed time is not a span, so the stage starts with the layer
    recordStage(`compress ${compression.algorithm}:${compression.level} (pieces' time from submit to done, summed)`, stats.pieceMs, stats.inputBytes, started);
    const layer: WrittenLayer = { digest: `sha256:${blobHash.digest('hex')}`, diffId: `sha256:${tarHash.digest('hex')}`, size: blobSize.n, mediaType: layerMediaType(compression) };
    // the upload's last bytes go out while the blob is made durable in the store
    const sent = upload ? upload.finish(layer.digest).catch(() => false) : null;
    if (!(await store.hasBlob(layer.digest))) {
      // the file's bytes are the ones hashed above: a store that stages blobs on the same file system takes it as is
      await timeStage('layer: into the store (fsync, rename)', async () => {
        if (store.putBlobFile) await store.putBlobFile(layer.digest, file);
        else await store.putBlob(layer.digest, createReadStream(file));
      });
    }
    await sent;
    return layer;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
