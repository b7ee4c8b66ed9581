/**
 * The thread listLayerEntries (layer-read.ts) lists a compressed layer on: it is sent the
 * blob's bytes as they arrive and answers the tar's entry names (tar-names.ts).
 *
 * Why a thread: inflating a layer makes about three times its size in fresh buffers, and V8
 * answers about every 20 MB of them with a full mark-compact of the heap they are made in. On the
 * server's heap (tens of MB live) listing the 38 MB Debian base layer cost nine of those; on this
 * thread's heap of a few MB the same collections cost next to nothing.
 *
 * In: workerData `{ mediaType }`; messages `{ bytes }` (a piece of the blob), then `{ end: true }`.
 * Out: `{ taken: n }` once a piece of n bytes is inflated (the sender keeps a bounded amount in
 * flight), then `{ names }` or `{ error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { tarNames, type TarName } from './tar-names';

export type ListRequest = { bytes: Uint8Array } | { end: true };
export type ListAnswer = { taken: number } | { names: TarName[] } | { error: string };

const port = parentPort!;
const post = (m: ListAnswer) => port.postMessage(m);
const { mediaType } = workerData as { mediaType: string };
const unzip = /zstd/.test(mediaType) ? createZstdDecompress({ chunkSize: 1 << 20 }) : createGunzip({ chunkSize: 1 << 20 });

// pieces of ~1 MiB go to zlib: one thread-pool trip each, not one per network chunk
const PIECE = 1 << 20;
let parts: Buffer[] = [];
let held = 0;
const flush = () => {
  if (!held) return;
  const piece = parts.length === 1 ? parts[0] : Buffer.concat(parts, held);
  parts = [];
  held = 0;
  unzip.write(piece, (err) => {
    if (!err) post({ taken: piece.length });
  });
};

port.on('message', (m: ListRequest) => {
  if ('end' in m) {
    flush();
    unzip.end();
    return;
  }
  const b = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  parts.push(b);
  held += b.length;
  if (held >= PIECE) flush();
});

tarNames(unzip).then(
  (names) => post({ names }),
  (err: unknown) => post({ error: (err as Error).message }),
);
unzip.on('error', () => undefined); // tarNames rejects with it
