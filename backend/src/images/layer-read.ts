/**
 * Reading a layer blob back as tar entries (decompressed when its media type
 * says gzip or zstd). Each yielded entry must be consumed (read or resume()) before
 * the next is produced; leaving the loop early destroys the streams.
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import tar, { type ExtractEvents } from 'tar-stream';

import type { ImageStore } from './image-store';
import { tarNames, type TarName } from './tar-names';
import type { ListAnswer, ListRequest } from './layer-list-worker';
import { zstdFrameWrites } from './zstd-frames';

export type LayerEntryStream = ExtractEvents['entry'][1];

export async function* readLayer(store: ImageStore, layer: { digest: string; mediaType: string }): AsyncGenerator<LayerEntryStream> {
  const blob = await store.openBlob(layer.digest);
  const extract = tar.extract();
  const fed = /gzip/.test(layer.mediaType)
    ? pipeline(blob, createGunzip({ chunkSize: 1 << 20 }), extract)
    : /zstd/.test(layer.mediaType)
      ? pipeline(blob, zstdFrameWrites(), createZstdDecompress({ chunkSize: 1 << 20 }), extract)
      : pipeline(blob, extract);
  fed.catch(() => undefined);
  try {
    for await (const entry of extract) yield entry;
    await fed;
  } finally {
    extract.destroy();
    blob.destroy();
  }
}

/** the entry's path in the image without "./" or "/" in front and "/" at the end */
export function entryPath(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

export interface ListedEntry {
  /** entryPath() of the header name */
  name: string;
  type: string;
}

/**
 * A cache of one ImageStore's (one backend's) immutable facts, e.g. the listing of a layer blob;
 * a new store starts empty, as a new backend process does
 */
export function perStore<V>(): (store: ImageStore) => Map<string, V> {
  const caches = new WeakMap<ImageStore, Map<string, V>>();
  return (store) => {
    let m = caches.get(store);
    if (!m) caches.set(store, (m = new Map()));
    return m;
  };
}

const listingsOf = perStore<Promise<ListedEntry[]>>();

/** the listing thread's module: beside this one in the source tree, beside the CLI in a bundle (backend/bundle-entries.json) */
let workerFile: URL | undefined;
function listingWorkerFile(): URL {
  workerFile ??= [new URL('./layer-list-worker.ts', import.meta.url), new URL('./layer-list-worker.mjs', import.meta.url), new URL('../layer-list-worker.mjs', import.meta.url)].find(
    (u) => existsSync(fileURLToPath(u)),
  );
  if (!workerFile) throw new Error(`the layer listing thread's module is missing beside ${fileURLToPath(import.meta.url)} (rebuild: npm run build)`);
  return workerFile;
}

/**
 * A listing thread started ahead of need: one takes 30-50 ms to start here, on the path of a
 * first save on a new base. A server keeps one spare (prestartListingThread); it holds no
 * process open (unref) and is replaced a while after a listing takes it.
 */
let spare: Worker | undefined;
let keepSpare = false;
const SPARE_AGAIN_MS = 2000;

function startListingThread(): Worker {
  const worker = new Worker(listingWorkerFile());
  worker.unref();
  const forget = () => {
    if (spare === worker) spare = undefined;
  };
  worker.once('error', forget).once('exit', forget);
  return worker;
}

/** keeps a listing thread started and idle from now on, for the next listing (the server calls it when it starts) */
export function prestartListingThread(): void {
  keepSpare = true;
  spare ??= startListingThread();
}

/** the spare's thread id, if one is started (for tests) */
export const spareListingThreadId = (): number | undefined => spare?.threadId;

/** no spare thread from now on (a server that closes) */
export function stopSpareListingThread(): void {
  keepSpare = false;
  void spare?.terminate();
  spare = undefined;
}

function takeListingThread(): Worker {
  const worker = spare ?? startListingThread();
  spare = undefined;
  worker.removeAllListeners();
  worker.ref();
  if (keepSpare) setTimeout(() => keepSpare && (spare ??= startListingThread()), SPARE_AGAIN_MS).unref();
  return worker;
}

/** bytes sent to the listing thread and not yet inflated, at most (the download waits beyond) */
const LISTING_WINDOW = 8 << 20;

/**
 * The entry names of a compressed layer, listed on a thread of its own (layer-list-worker.ts says
 * why) as its bytes arrive, and verified there: the thread's sha256 of the bytes must be `digest`.
 * The chunks are taken as they come ('data': an async iterator would join whatever is buffered
 * into a fresh buffer), and one that is a whole ArrayBuffer (a socket read) moves to the thread
 * instead of being copied; a view into a larger one is copied.
 */
async function listOnThread(blob: Readable, mediaType: string, digest: string): Promise<TarName[]> {
  const worker = takeListingThread();
  worker.postMessage({ mediaType } satisfies ListRequest);
  let inFlight = 0;
  const answer = new Promise<TarName[]>((resolve, reject) => {
    worker.on('message', (m: ListAnswer) => {
      if ('taken' in m) {
        inFlight -= m.taken;
        if (blob.isPaused() && inFlight <= LISTING_WINDOW / 2) blob.resume();
      } else if ('names' in m) {
        if (`sha256:${m.sha256}` === digest) resolve(m.names);
        else reject(new Error(`blob digest mismatch: expected ${digest}, got sha256:${m.sha256}`));
      }
      else reject(new Error(m.error));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the layer listing thread stopped (exit code ${code})`)));
  });
  const sent = new Promise<void>((resolve, reject) => {
    blob.on('data', (chunk: Buffer) => {
      const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
      inFlight += chunk.length;
      worker.postMessage({ bytes: chunk } satisfies ListRequest, whole ? [chunk.buffer as ArrayBuffer] : []);
      if (inFlight > LISTING_WINDOW) blob.pause();
    });
    blob.once('end', () => {
      worker.postMessage({ end: true } satisfies ListRequest);
      resolve();
    });
    blob.once('error', reject);
  });
  answer.catch(() => undefined); // raced, then awaited
  sent.catch(() => undefined);
  try {
    await Promise.race([sent, answer]); // a listing that fails early (a broken stream) does not wait for the download
    return await answer;
  } finally {
    void worker.terminate();
  }
}

/** the blob's bytes passed on as they come, hashed: the stream fails at its end unless they hash to `digest` */
function verifying(blob: Readable, digest: string): Readable {
  const hash = createHash('sha256');
  return Readable.from(
    (async function* () {
      for await (const chunk of blob) {
        hash.update(chunk as Buffer);
        yield chunk as Buffer;
      }
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== digest) throw new Error(`blob digest mismatch: expected ${digest}, got ${got}`);
    })(),
    { objectMode: false },
  );
}

/**
 * The names and types of a layer's entries, read once per blob digest and store (a blob
 * is immutable): the base-image scans (python3 lookup, installed distributions) share it.
 * Only the headers are parsed (tar-names.ts); the bodies are skipped.
 */
export function listLayerEntries(store: ImageStore, layer: { digest: string; mediaType: string }): Promise<ListedEntry[]> {
  const key = `${layer.digest}|${layer.mediaType}`;
  const listings = listingsOf(store);
  let p = listings.get(key);
  if (!p) {
    const list = async (once: boolean) => {
      const blob = once && store.streamBlob ? await store.streamBlob(layer.digest) : await store.openBlob(layer.digest);
      try {
        const names = /gzip|zstd/.test(layer.mediaType) ? await listOnThread(blob, layer.mediaType, layer.digest) : await tarNames(verifying(blob, layer.digest));
        return names.map((e) => ({ name: entryPath(e.name), type: e.type }));
      } finally {
        blob.destroy();
      }
    };
    // listed while it downloads, not kept (streamBlob); a failed download is read again the careful way (openBlob retries)
    p = list(true).catch(() => list(false));
    p.catch(() => listings.delete(key));
    if (listings.size >= 32) listings.delete(listings.keys().next().value!);
    listings.set(key, p);
  }
  return p;
}
