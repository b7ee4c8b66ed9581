/**
 * From configuration strings to stores: `images.registry` (oci-layout:<dir>,
 * or an http(s) registry URL: a RegistryStore), image refs of
 * versions (`oci-layout:<dir>:<repo>:<tag>`) and base-image references.
 * A directory never contains ":" (skopeo's oci: transport has the same rule),
 * so the first ":" after the directory starts the ref name.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { ImageStore } from './image-store';
import { OciLayoutStore } from './oci-layout';
import type { ClientOptions } from './registry/client';
import { parseRegistryUrl } from './registry/reference';
import { RegistryStore } from './registry-store';

export interface OpenOptions {
  /** the registry store's local blob cache (default: $TRAINYARD_HOME or ~/.trainyard, /image-cache) */
  cacheDir?: string;
  client?: ClientOptions;
}

export function openImageStore(registry: string, opts: OpenOptions = {}): ImageStore {
  if (registry.startsWith('oci-layout:')) {
    const dir = registry.slice('oci-layout:'.length);
    if (!dir) throw new Error('images.registry "oci-layout:" needs a directory, e.g. oci-layout:/home/me/.trainyard/images');
    if (dir.includes(':')) throw new Error(`images.registry: the OCI layout directory may not contain ":" (got ${JSON.stringify(dir)})`);
    return new OciLayoutStore(dir);
  }
  if (/^https?:\/\//.test(registry)) {
    const home = process.env.TRAINYARD_HOME ?? join(homedir(), '.trainyard');
    return new RegistryStore(parseRegistryUrl(registry), opts.cacheDir ?? join(home, 'image-cache'), opts.client);
  }
  throw new Error(`images.registry must be oci-layout:<dir> or an http(s):// registry URL (got ${JSON.stringify(registry)})`);
}

/** the imageRef recorded on a version: `oci-layout:<dir>:<repo>:<tag>`, or `host/ns/<repo>:<docker tag>` for a registry */
export function imageRefFor(store: Pick<ImageStore, 'imageRef'>, repo: string, tag: string): string {
  return store.imageRef(repo, tag);
}

export interface LayoutRef {
  /** absolute layout directory */
  dir: string;
  /** index.json ref name, or null: the layout's only image */
  refName: string | null;
}

/**
 * Parses a reference to an image in an OCI layout directory:
 * `oci-layout:<dir>[:<ref>]`, `oci:<dir>[:<ref>]` (skopeo's spelling) or an
 * absolute/relative path `<dir>[:<ref>]` (paths must start with "/" or ".").
 * Returns null for anything else (e.g. a registry reference like python:3.11-slim).
 */
export function parseLayoutRef(ref: string, cwd = process.cwd()): LayoutRef | null {
  let rest: string;
  if (ref.startsWith('oci-layout:')) rest = ref.slice('oci-layout:'.length);
  else if (ref.startsWith('oci:')) rest = ref.slice('oci:'.length);
  else if (ref.startsWith('/') || ref.startsWith('./') || ref.startsWith('../')) rest = ref;
  else return null;
  const at = rest.indexOf(':');
  const dir = at < 0 ? rest : rest.slice(0, at);
  const refName = at < 0 ? null : rest.slice(at + 1) || null;
  if (!dir) return null;
  return { dir: isAbsolute(dir) ? dir : resolve(cwd, dir), refName };
}

/** splits a version's imageRef `oci-layout:<dir>:<repo>:<tag>` into its store and repo/tag */
export function parseImageRef(imageRef: string): { store: OciLayoutStore; repo: string; tag: string } {
  const parsed = parseLayoutRef(imageRef);
  if (!parsed || !imageRef.startsWith('oci-layout:') || !parsed.refName) {
    throw new Error(`image ref ${JSON.stringify(imageRef)} is not of the form oci-layout:<dir>:<repo>:<tag>`);
  }
  const colon = parsed.refName.indexOf(':');
  if (colon <= 0) throw new Error(`image ref ${JSON.stringify(imageRef)} has no <repo>:<tag> after the directory`);
  return { store: new OciLayoutStore(parsed.dir), repo: parsed.refName.slice(0, colon), tag: parsed.refName.slice(colon + 1) };
}
