/**
 * A version's own files, read back from its image: the code layer (the manifest's last
 * layer) holds the workspace under app/. Editors use this to diff a version against the
 * workspace and to show the exact source a run ran. The listing is cached per layer digest
 * (a layer is immutable); reading one file streams the layer until that entry.
 */
import type { VersionFile } from '@trainyard/shared';
import type { ImageStore } from '../images/image-store';
import { entryPath, readLayer } from '../images/layer-read';
import { invalid, notFound } from '../errors';

const CODE_DIR = 'app/';
/** the largest file served whole; a code layer's files are source, not data */
export const MAX_VERSION_FILE_BYTES = 16 << 20;

interface Layer { digest: string; mediaType: string }
interface VersionRef { model: string; label: string; digest: string }

async function codeLayer(images: ImageStore, v: VersionRef): Promise<Layer> {
  const stored = await images.getManifest(v.model, v.digest);
  if (!stored) throw notFound(`the image of ${v.model}:${v.label} (${v.digest}) is missing from ${images.location}`);
  let layers: Layer[] | undefined;
  try {
    layers = (JSON.parse(stored.bytes.toString('utf8')) as { layers?: Layer[] }).layers;
  } catch {
    /* reported below */
  }
  const last = Array.isArray(layers) ? layers[layers.length - 1] : undefined;
  if (!last || typeof last.digest !== 'string' || typeof last.mediaType !== 'string') {
    throw new Error(`the manifest of ${v.model}:${v.label} (${stored.digest}) has no layers`);
  }
  return last;
}

const listings = new Map<string, Promise<VersionFile[]>>();

export function listVersionFiles(images: ImageStore, v: VersionRef): Promise<VersionFile[]> {
  let p = listings.get(v.digest);
  if (!p) {
    p = (async () => {
      const layer = await codeLayer(images, v);
      const out: VersionFile[] = [];
      for await (const entry of readLayer(images, layer)) {
        const name = entryPath(entry.header.name);
        if ((entry.header.type ?? 'file') === 'file' && name.startsWith(CODE_DIR)) {
          out.push({ path: name.slice(CODE_DIR.length), size: entry.header.size ?? 0, mode: (entry.header.mode ?? 0o644) & 0o777 });
        }
        entry.resume();
      }
      return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    })();
    p.catch(() => listings.delete(v.digest));
    if (listings.size >= 64) listings.delete(listings.keys().next().value!);
    listings.set(v.digest, p);
  }
  return p;
}

/** a workspace-relative path as the URL gives it: no "..", no empty or "." segments, no leading "/" */
export function checkFilePath(path: string): string {
  if (path === '' || path.length > 4096 || path.includes('\0') || path.startsWith('/') || path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw invalid(`file path "${path.slice(0, 200)}" is not a workspace-relative path (like src/train.py: no "..", no leading or doubled "/")`);
  }
  return path;
}

export async function readVersionFile(images: ImageStore, v: VersionRef, path: string): Promise<Buffer> {
  checkFilePath(path);
  const listed = (await listVersionFiles(images, v)).find((f) => f.path === path);
  if (!listed) throw notFound(`${v.model}:${v.label} has no file "${path}"`);
  if (listed.size > MAX_VERSION_FILE_BYTES) throw invalid(`${path} is ${listed.size} bytes; files over ${MAX_VERSION_FILE_BYTES} bytes are not served`);
  const layer = await codeLayer(images, v);
  const want = CODE_DIR + path;
  for await (const entry of readLayer(images, layer)) {
    if (entryPath(entry.header.name) !== want) {
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  throw notFound(`${v.model}:${v.label} has no file "${path}"`);
}
