/**
 * The thread listLayerEntries (layer-read.ts) lists a compressed layer on: it is sent the
 * blob's bytes as they arrive and answers the tar's entry names (tar-names.ts).
 *
 * Why a thread: inflating a layer makes about three times its size in fresh buffers, and V8
 * answers about every 20 MB of them with a full mark-compact of the heap they are made in. On the
 * server's heap (tens of MB live) listing the 38 MB Debian base layer cost nine of those; on this
 * thread's heap of a few MB the same collections cost next to nothing.
 *
 * It also hashes the blob's bytes as they come (sha256), so the sender's thread (the server's
 * main thread) does not: the sender compares the digest with the blob's and fails on a mismatch.
 *
 * In: `{ mediaType }` (the layer's: gzip or zstd; the thread may have been started before the
 * layer was known, layer-read.ts prestartListingThread), then `{ bytes }` (a piece of the blob),
 * then `{ end: true }`.
 * Out: `{ taken: n }` once a piece of n bytes is inflated (the sender keeps a bounded amount in
 * flight), then `{ names, sha256 }` (the names, and the sha256 hex of every byte sent) or `{ error }`.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { createGunzip, createZstdDecompress, type Gunzip, type ZstdDecompress } from 'node:zlib';
import { BufferPool } from '@trainyard/shared/buffer-pool';
import { tarNames, type TarName } from './tar-names';
import { ZstdFrameCutter } from './zstd-frames';

export type ListRequest = { mediaType: string } | { bytes: Uint8Array } | { end: true };
export type ListAnswer = { taken: number } | { names: TarName[]; sha256: string } | { error: string };

const port = parentPort!;
const post = (m: ListAnswer) => port.postMessage(m);
let unzip!: Gunzip | ZstdDecompress;
/** zstd: each frame's end ends a write (zstd-frames.ts: Node's decoder drops what follows a frame's end in a write) */
let frames: ZstdFrameCutter | null = null;

// pieces of 1 MiB go to zlib: one thread-pool trip each, not one per network chunk. A piece is
// copied into a buffer of a pool, which comes back once zlib has taken it: fresh memory costs
// page faults (a page cleared per 4 KiB), and a 38 MB layer made 38 MB of new pieces.
const PIECE = 1 << 20;
const pieces = new BufferPool(PIECE, 12); // the sender keeps at most 8 MiB in flight (layer-read.ts LISTING_WINDOW)
let piece: Buffer | null = null;
let held = 0;
const flush = () => {
  if (!held) return;
  const full = piece!;
  const bytes = full.subarray(0, held);
  piece = null;
  held = 0;
  const writes = frames ? frames.cut(bytes) : [bytes];
  writes.forEach((w, i) =>
    unzip.write(
      w,
      i < writes.length - 1
        ? undefined
        : (err) => {
            pieces.give(full);
            if (!err) post({ taken: bytes.length });
          },
    ),
  );
};

const hash = createHash('sha256');
let ended!: () => void;
const allSent = new Promise<void>((r) => (ended = r));

/** the names once the tar ends and every byte has come (the digest covers them all) */
function listing(mediaType: string): void {
  const zstd = /zstd/.test(mediaType);
  unzip = zstd ? createZstdDecompress({ chunkSize: 1 << 20 }) : createGunzip({ chunkSize: 1 << 20 });
  frames = zstd ? new ZstdFrameCutter() : null;
  Promise.all([tarNames(unzip), allSent]).then(
    ([names]) => post({ names, sha256: hash.digest('hex') }),
    (err: unknown) => post({ error: (err as Error).message }),
  );
  unzip.on('error', () => undefined); // tarNames rejects with it
}

port.on('message', (m: ListRequest) => {
  if ('mediaType' in m) {
    listing(m.mediaType);
    return;
  }
  if ('end' in m) {
    flush();
    unzip.end();
    ended();
    return;
  }
  const b = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  hash.update(b);
  for (let at = 0; at < b.length; ) {
    piece ??= pieces.take();
    const n = b.copy(piece, held, at);
    held += n;
    at += n;
    if (held === PIECE) flush();
  }
});
