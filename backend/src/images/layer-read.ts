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

export async function* readLayer(store: ImageStore, layer: { digest: string; mediaType: string }): AsyncGenerator<LayerEntryStream> {
  const blob = await store.openBlob(layer.digest);
  const extract = tar.extract();
  const fed = /gzip/.test(layer.mediaType)
    ? pipeline(blob, createGunzip(), extract)
    : /zstd/.test(layer.mediaType)
      ? pipeline(blob, createZstdDecompress(), extract)
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

const listings = new Map<string, Promise<ListedEntry[]>>();

/**
 * The names and types of a layer's entries, read once per blob digest and process (a blob
 * is immutable): the base-image scans (python3 lookup, installed distributions) share it.
 */
export function listLayerEntries(store: ImageStore, layer: { digest: string; mediaType: string }): Promise<ListedEntry[]> {
  const key = `${layer.digest}|${layer.mediaType}`;
  let p = listings.get(key);
  if (!p) {
    p = (async () => {
      const out: ListedEntry[] = [];
      for await (const entry of readLayer(store, layer)) {
        out.push({ name: entryPath(entry.header.name), type: entry.header.type ?? 'file' });
        entry.resume();
      }
      return out;
    })();
    p.catch(() => listings.delete(key));
    if (listings.size >= 32) listings.delete(listings.keys().next().value!);
    listings.set(key, p);
  }
  return p;
}
