/**
 * Reading a layer blob back as tar entries (decompressed when its media type
 * says gzip or zstd). Each yielded entry must be consumed (read or resume()) before
 * the next is produced; leaving the loop early destroys the streams.
 */
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import tar, { type ExtractEvents } from 'tar-stream';

export type LayerEntryStream = ExtractEvents['entry'][1];
import type { ImageStore } from './image-store';

export async function* readLayer(store: ImageStore, layer: { digest: string; mediaType: string }, opts: { once?: boolean } = {}): AsyncGenerator<LayerEntryStream> {
  const blob = opts.once && store.streamBlob ? await store.streamBlob(layer.digest) : await store.openBlob(layer.digest);
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

/**
 * The names and types of a layer's entries, read once per blob digest and store (a blob
 * is immutable): the base-image scans (python3 lookup, installed distributions) share it.
 */
export function listLayerEntries(store: ImageStore, layer: { digest: string; mediaType: string }): Promise<ListedEntry[]> {
  const key = `${layer.digest}|${layer.mediaType}`;
  const listings = listingsOf(store);
  let p = listings.get(key);
  if (!p) {
    const list = async (once: boolean) => {
      const out: ListedEntry[] = [];
      for await (const entry of readLayer(store, layer, { once })) {
        out.push({ name: entryPath(entry.header.name), type: entry.header.type ?? 'file' });
        entry.resume();
      }
      return out;
    };
    // listed while it downloads, not kept (streamBlob); a failed download is read again the careful way (openBlob retries)
    p = list(true).catch(() => list(false));
    p.catch(() => listings.delete(key));
    if (listings.size >= 32) listings.delete(listings.keys().next().value!);
    listings.set(key, p);
  }
  return p;
}
