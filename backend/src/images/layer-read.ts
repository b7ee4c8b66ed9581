/**
 * Reading a layer blob back as tar entries (decompressed when its media type
 * says gzip or zstd). Each yielded entry must be consumed (read or resume()) before
 * the next is produced; leaving the loop early destroys the streams.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import tar, { type ExtractEvents } from 'tar-stream';

import type { ImageStore } from './image-store';
import { tarNames } from './tar-names';

export type LayerEntryStream = ExtractEvents['entry'][1];

export async function* readLayer(store: ImageStore, layer: { digest: string; mediaType: string }): AsyncGenerator<LayerEntryStream> {
  const blob = await store.openBlob(layer.digest);
  const extract = tar.extract();
  const fed = /gzip/.test(layer.mediaType)
    ? pipeline(blob, createGunzip({ chunkSize: 1 << 20 }), extract)
    : /zstd/.test(layer.mediaType)
      ? pipeline(blob, createZstdDecompress({ chunkSize: 1 << 20 }), extract)
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

/** `src`'s bytes in pieces of at least `min` bytes (the last may be smaller) */
async function* inPieces(src: AsyncIterable<Buffer>, min: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const c of src) {
    parts.push(c);
    n += c.length;
    if (n >= min) {
      yield parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n) yield Buffer.concat(parts, n);
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
      const unzip = /gzip/.test(layer.mediaType) ? createGunzip({ chunkSize: 1 << 20 }) : /zstd/.test(layer.mediaType) ? createZstdDecompress({ chunkSize: 1 << 20 }) : null;
      // the download's small chunks fed to the decompressor in MiB pieces: one thread-pool trip each
      const fed = unzip ? pipeline(Readable.from(inPieces(blob, 1 << 20)), unzip) : null;
      fed?.catch(() => undefined); // a failure destroys unzip, which ends tarNames with it
      try {
        const names = await tarNames(unzip ?? blob);
        await fed;
        return names.map((e) => ({ name: entryPath(e.name), type: e.type }));
      } finally {
        unzip?.destroy();
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
