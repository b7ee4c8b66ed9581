/**
 * Layer compression (`images.compression`): gzip at a level (default gzip:6, what
 * every runtime reads) or zstd (`application/vnd.oci.image.layer.v1.tar+zstd`, read
 * by podman/containers-image and containerd; not by umoci 0.4).
 *
 * Both compress the tar in fixed PIECE-sized pieces, independently, on the libuv
 * thread pool, several at a time, and write them in order:
 * - gzip: one gzip member (header without file name, mtime 0, OS 3) whose deflate
 *   stream is the concatenation of the pieces, each raw-deflated on its own (every
 *   piece but the last ends with a sync flush, the last with the final block), as
 *   `pigz --independent` does; the trailer's CRC-32 and size are those of the whole
 *   tar. A piece that does not compress (already-compressed data: wheels' archives,
 *   weights, media) is stored instead of spending ~20 ms/MiB to find that out: the
 *   test is four 4 KiB samples deflated at level 1, and the piece is stored when they
 *   shrink by less than 3%. Stored pieces are framed here, without zlib (storedPiece:
 *   stored blocks of STORED_BLOCK bytes, the last piece's last one final), so storing
 *   costs a copy, not a trip through the thread pool per 16 KiB.
 * - zstd: one zstd frame per piece (with its checksum), concatenated: a valid zstd
 *   stream (RFC 8878 §3.1) that every zstd decoder reads. A piece that does not compress
 *   (the same test) is one frame of raw blocks, framed here (rawZstdFrame).
 * A piece also ends where the input says so (PIECE_END between chunks): the code layer ends one
 * after each group of its entries (layer.ts WriteLayerOptions.cutAfter), so a re-save that edits one
 * file changes one piece, and a PieceCache gives the others' output back without compressing them.
 * The output depends only on the tar bytes, where the pieces end and the setting: same tar and
 * same ends ⇒ same blob, at every level, however the input arrives and however many run at once.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { constants as zc, crc32, deflateRaw, zstdCompress } from 'node:zlib';
import { BufferPool } from '@trainyard/shared/buffer-pool';
import { ByteLru } from './byte-lru';

export const MEDIA_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

export interface Compression {
  algorithm: 'gzip' | 'zstd';
  level: number;
}

export const DEFAULT_COMPRESSION: Compression = { algorithm: 'gzip', level: 6 };
const LEVELS = { gzip: { min: 1, max: 9, default: 6 }, zstd: { min: 1, max: 19, default: 3 } } as const;

/** "gzip", "gzip:1" … "gzip:9", "zstd", "zstd:1" … "zstd:19"; throws saying what is accepted */
export function parseCompression(text: string): Compression {
  const m = /^(gzip|zstd)(?::(\d{1,2}))?$/.exec(text.trim());
  const range = m ? LEVELS[m[1] as 'gzip' | 'zstd'] : null;
  const level = m?.[2] !== undefined ? Number(m[2]) : range?.default;
  if (!m || !range || level === undefined || level < range.min || level > range.max) {
    throw new Error(`images.compression must be gzip, gzip:1 … gzip:9, zstd or zstd:1 … zstd:19 (got ${JSON.stringify(text)}); gzip is what every runtime reads`);
  }
  return { algorithm: m[1] as 'gzip' | 'zstd', level };
}

export const compressionName = (c: Compression) => `${c.algorithm}:${c.level}`;

export function layerMediaType(c: Compression): string {
  return c.algorithm === 'zstd' ? MEDIA_LAYER_ZSTD : MEDIA_LAYER_GZIP;
}

/** the uncompressed piece size: part of the blob format (changing it changes digests) */
export const PIECE = 1 << 20;
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);
const SAMPLE = 4096;

// one output buffer per piece (zlib's output does not depend on it at levels 1-9; the default 16 KiB is a thread-pool round trip per 16 KiB)
const deflate = (data: Buffer, level: number, last: boolean) =>
  new Promise<Buffer>((res, rej) =>
    deflateRaw(data, { level, finishFlush: last ? zc.Z_FINISH : zc.Z_SYNC_FLUSH, chunkSize: Math.max(16_384, data.length + (data.length >> 8) + 1024) }, (err, out) => (err ? rej(err) : res(out))),
  );

/** the largest stored deflate block (RFC 1951 §3.2.4: LEN is 16 bits) */
const STORED_BLOCK = 65_535;

/** a piece as it arrived: the tar's chunks (or views of them), in order */
type Parts = Buffer[];

const lengthOf = (parts: Parts) => parts.reduce((n, p) => n + p.length, 0);

/** copies `n` bytes of `parts` from offset `from` into `target` at `at` */
function gather(parts: Parts, from: number, n: number, target: Buffer, at: number): void {
  for (const p of parts) {
    if (n === 0) return;
    if (from >= p.length) {
      from -= p.length;
      continue;
    }
    const take = Math.min(n, p.length - from);
    p.copy(target, at, from, from + take);
    at += take;
    n -= take;
    from = 0;
  }
}

/**
 * `data` as raw-deflate stored blocks, starting and ending on a byte boundary (as every piece
 * does): per block a header byte (BFINAL, BTYPE 00, padding), LEN and NLEN (little-endian), the
 * bytes. Only the last block of the last piece is final; an empty last piece is one empty final block.
 * The bytes are not copied: the answer is the headers and views of the parts (inBlocks).
 */
export function storedPiece(data: Buffer | Parts, last: boolean): Buffer[] {
  return inBlocks(data, STORED_BLOCK, 5, 0, (out, n, lastBlock) => {
    out[0] = last && lastBlock ? 1 : 0;
    out.writeUInt16LE(n, 1);
    out.writeUInt16LE(~n & 0xffff, 3);
  });
}

/**
 * The bytes of `data` cut into blocks of at most `block` bytes (at least one block, empty for no
 * bytes), each after a header of `header` bytes that `head` writes (n: the block's bytes), in
 * order: the headers (views of one small buffer whose first `lead` bytes, before the first
 * header, are left for the caller) and views of the parts, never a copy of them. A piece that is
 * stored costs its headers: 50 MB of incompressible files no longer make 50 MB of fresh buffers
 * (each a page fault per 4 KiB, and toward V8's next full GC). The parts must not change until
 * the views are written.
 */
function inBlocks(data: Buffer | Parts, block: number, header: number, lead: number, head: (out: Buffer, n: number, lastBlock: boolean) => void): Buffer[] {
  const parts = Array.isArray(data) ? data : [data];
  const len = lengthOf(parts);
  const blocks = Math.max(1, Math.ceil(len / block));
  const heads = Buffer.allocUnsafe(lead + blocks * header);
  const out: Buffer[] = [];
  let part = 0;
  let at = 0; // in parts[part]
  for (let i = 0; i < blocks; i++) {
    const n = Math.min(block, len - i * block);
    const from = lead + i * header;
    head(heads.subarray(from, from + header), n, i === blocks - 1);
    out.push(heads.subarray(i === 0 ? 0 : from, from + header));
    for (let left = n; left > 0; ) {
      const p = parts[part];
      const take = Math.min(left, p.length - at);
      if (take > 0) out.push(p.subarray(at, at + take));
      left -= take;
      at += take;
      if (at === p.length) {
        part++;
        at = 0;
      }
    }
  }
  return out;
}

/** whether deflate would gain < 3% on the piece, judged from four samples (a function of the bytes alone) */
async function incompressible(parts: Parts, len: number): Promise<boolean> {
  if (len < 8 * SAMPLE) return false;
  const step = Math.floor((len - SAMPLE) / 3);
  const sample = Buffer.allocUnsafe(4 * SAMPLE);
  for (let i = 0; i < 4; i++) gather(parts, i * step, SAMPLE, sample, i * SAMPLE);
  const out = await deflate(sample, 1, true);
  return out.length >= sample.length * 0.97;
}

/** the buffers pieces are joined in for zlib, shared by every layer and save (idle, at most as many as one layer has pieces in flight) */
const pieceBuffers = new BufferPool(PIECE, 4);

/**
 * The piece joined into one buffer for zlib, lent by pieceBuffers when it has to be joined; the
 * buffer goes back when `use` settles (zlib holds its input only until its callback).
 */
async function joined<T>(parts: Parts, len: number, use: (data: Buffer) => Promise<T>): Promise<T> {
  if (parts.length === 1) return use(parts[0]);
  if (len > pieceBuffers.size) return use(Buffer.concat(parts, len));
  const buf = pieceBuffers.take();
  try {
    gather(parts, 0, len, buf, 0);
    return await use(buf.subarray(0, len));
  } finally {
    pieceBuffers.give(buf);
  }
}

/** a piece's output: one buffer deflated (`owned`: no view of the input), or a stored piece's headers and views */
async function gzipPiece(parts: Parts, level: number, last: boolean): Promise<{ out: Buffer[]; owned: boolean }> {
  const len = lengthOf(parts);
  if (await incompressible(parts, len)) return { out: storedPiece(parts, last), owned: false };
  return { out: [await joined(parts, len, (data) => deflate(data, level, last))], owned: true };
}

/** the largest zstd block (RFC 8878 §3.1.1.2.4: Block_Maximum_Size is at most 128 KiB) */
const ZSTD_BLOCK = 128 << 10;

/**
 * The piece as one zstd frame of raw blocks (RFC 8878 §3.1.1): the magic number, a frame header
 * saying single segment with a 4-byte content size and no checksum (the layer's digest covers
 * the bytes), then per 128 KiB a 3-byte block header (Last_Block, Block_Type 0 = raw, Block_Size)
 * and the bytes, as views of the parts (inBlocks). What zstd itself makes of data it cannot
 * compress, for the cost of its headers.
 */
export function rawZstdFrame(data: Buffer | Parts): Buffer[] {
  const parts = Array.isArray(data) ? data : [data];
  const out = inBlocks(parts, ZSTD_BLOCK, 3, 9, (o, n, lastBlock) => o.writeUIntLE(n * 8 + (lastBlock ? 1 : 0), 0, 3));
  const frame = out[0]; // the frame header, then the first block's
  frame.writeUInt32LE(0xfd2fb528, 0);
  frame[4] = 0xa0; // Frame_Content_Size_flag 2 (4 bytes), Single_Segment_flag; no checksum, no dictionary
  frame.writeUInt32LE(lengthOf(parts), 5);
  return out;
}

async function zstdPiece(parts: Parts, level: number): Promise<{ out: Buffer[]; owned: boolean }> {
  const len = lengthOf(parts);
  if (await incompressible(parts, len)) return { out: rawZstdFrame(parts), owned: false };
  const out = await joined(parts, len, (data) =>
    new Promise<Buffer>((res, rej) =>
      zstdCompress(data, { params: { [zc.ZSTD_c_compressionLevel]: level, [zc.ZSTD_c_checksumFlag]: 1 } }, (err, out) => (err ? rej(err) : res(out))),
    ),
  );
  return { out: [out], owned: true };
}

/** in compressStream's input: the piece ends here (before the next chunk) */
export const PIECE_END: unique symbol = Symbol('piece end');

/**
 * Compressed pieces by what they follow from (the setting, whether the piece is the last, the
 * sha256 of its bytes). Only output compressed is kept: a stored piece costs a copy anyway, and
 * its buffers are views of the input.
 */
export class PieceCache extends ByteLru {
  static key(c: Compression, last: boolean, parts: Parts): string {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    // a gzip piece ends with a sync flush, the last with the final block; a zstd frame is the same either way
    return `${compressionName(c)} ${c.algorithm === 'gzip' && last ? 'last' : 'inner'} ${h.digest('hex')}`;
  }
}

export interface CompressStats {
  /** summed time of the piece compressions (thread-pool time, they overlap) */
  pieceMs: number;
  inputBytes: number;
}

/**
 * The compressed bytes of the concatenated input (see the header), a piece at a time: each
 * answer is a piece's output as one or more buffers, to be written in order (as one writev). A
 * stored piece's are mostly views of the input chunks, which must not change until written.
 * `stats` is filled in when done.
 */
export async function* compressStream(
  src: AsyncIterable<Buffer | Uint8Array | typeof PIECE_END>,
  c: Compression = DEFAULT_COMPRESSION,
  parallel = Math.max(2, Math.min(4, availableParallelism())),
  stats?: CompressStats,
  cache?: PieceCache,
): AsyncGenerator<Buffer[]> {
  const gzip = c.algorithm === 'gzip';
  if (gzip) yield [GZIP_HEADER];
  let crc = 0;
  let total = 0;
  let pieceMs = 0;
  let pending: Parts = [];
  let pendingLen = 0;
  const inflight: Array<Promise<Buffer[]>> = [];
  const submit = (parts: Parts, last: boolean) => {
    const t = performance.now();
    const key = cache ? PieceCache.key(c, last, parts) : '';
    const known = cache?.get(key);
    const p = known
      ? Promise.resolve([known])
      : (gzip ? gzipPiece(parts, c.level, last) : zstdPiece(parts, c.level)).then(({ out, owned }) => {
          pieceMs += performance.now() - t;
          if (cache && owned) cache.set(key, out[0]);
          return out;
        });
    p.catch(() => undefined); // awaited in order below
    inflight.push(p);
  };
  for await (const chunk of src) {
    if (chunk === PIECE_END) {
      if (pendingLen > 0) {
        submit(pending, false);
        pending = [];
        pendingLen = 0;
        while (inflight.length >= parallel) yield await inflight.shift()!;
      }
      continue;
    }
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    if (gzip) crc = crc32(b, crc);
    total += b.length;
    pending.push(b);
    pendingLen += b.length;
    while (pendingLen >= PIECE) {
      // the first PIECE bytes as views of the chunks (the chunk across the boundary split in two)
      const piece: Parts = [];
      let n = 0;
      let used = 0;
      while (n < PIECE) {
        const head = pending[used];
        const take = Math.min(head.length, PIECE - n);
        if (take === head.length) {
          piece.push(head);
          used++;
        } else {
          piece.push(head.subarray(0, take));
          pending[used] = head.subarray(take);
        }
        n += take;
      }
      pending = pending.slice(used);
      pendingLen -= PIECE;
      submit(piece, false);
      while (inflight.length >= parallel) yield await inflight.shift()!;
    }
  }
  if (gzip || pendingLen > 0 || total === 0) submit(pending, true);
  while (inflight.length) yield await inflight.shift()!;
  if (stats) Object.assign(stats, { pieceMs, inputBytes: total });
  if (!gzip) return;
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total % 2 ** 32, 4);
  yield [trailer];
}

/** gzip (level 6 unless given) of the concatenated input: compressStream for gzip */
export function parallelGzip(src: AsyncIterable<Buffer>, parallel?: number, level = DEFAULT_COMPRESSION.level): AsyncGenerator<Buffer[]> {
  return compressStream(src, { algorithm: 'gzip', level }, parallel);
}
