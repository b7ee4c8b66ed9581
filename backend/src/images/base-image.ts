/**
 * Base images from OCI layout directories: `oci-layout:<dir>[:<ref>]`,
 * `oci:<dir>[:<ref>]` or a path `<dir>[:<ref>]` (no ref: the layout's only
 * image, else its "latest"). An image index is narrowed to linux/amd64. The
 * base's layer blobs are copied into our store (verified by the store), and
 * its config is returned for the builder to extend. Registry references
 * (python:3.11-slim) need the registry client of a later issue.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageStore } from './image-store';
import { OciLayoutStore, REF_NAME_ANNOTATION } from './oci-layout';
import { parseLayoutRef } from './open';
import { MEDIA_LAYER_GZIP } from './layer';
import { entryPath, readLayer } from './layer-read';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}
export interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: { Env?: string[]; WorkingDir?: string; Labels?: Record<string, string>; [k: string]: unknown };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: Array<Record<string, unknown>>;
  [k: string]: unknown;
}
export interface ResolvedBase {
  ref: string;
  digest: string;
  layers: Descriptor[];
  config: ImageConfig;
}

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
// Docker media types for the same bytes, mapped to their OCI names in our OCI manifest
const LAYER_TYPES: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip': MEDIA_LAYER_GZIP,
  [MEDIA_LAYER_GZIP]: MEDIA_LAYER_GZIP,
  'application/vnd.oci.image.layer.v1.tar': 'application/vnd.oci.image.layer.v1.tar',
};

/** the base image reference is wrong or unusable: the user has something to fix */
export class BaseImageError extends Error {}

export async function resolveBaseImage(ref: string, into: ImageStore): Promise<ResolvedBase> {
  const parsed = parseLayoutRef(ref);
  if (!parsed) {
    throw new BaseImageError(
      `base image "${ref}": only OCI layout directories are supported yet (oci-layout:<dir>[:<ref>], oci:<dir>[:<ref>] or an absolute path); registry images come later`,
    );
  }
  const src = new OciLayoutStore(parsed.dir);
  if (!existsSync(join(parsed.dir, 'index.json'))) throw new BaseImageError(`base image "${ref}": ${parsed.dir} is not an OCI image layout (no index.json)`);
  const entries = await src.listManifests().catch((err) => {
    throw new BaseImageError(`base image "${ref}": cannot read ${parsed.dir}/index.json (${(err as Error).message})`);
  });
  const names = entries.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).filter((n): n is string => !!n);
  let want = parsed.refName;
  if (!want && entries.length !== 1) {
    if (!names.includes('latest')) throw new BaseImageError(`base image "${ref}": ${parsed.dir} holds ${entries.length} images; name one as <dir>:<ref> (refs: ${names.join(', ') || 'none'})`);
    want = 'latest';
  }
  const desc = want ? entries.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === want) : entries[0];
  if (!desc) throw new BaseImageError(`base image "${ref}": no image "${want}" in ${parsed.dir} (refs: ${names.join(', ') || 'none'})`);

  let digest = desc.digest;
  let doc = JSON.parse((await src.readBlob(digest)).toString('utf8')) as { mediaType?: string; manifests?: Array<Descriptor & { platform?: { os: string; architecture: string } }> };
  if (INDEX_TYPES.has(doc.mediaType ?? desc.mediaType) || Array.isArray(doc.manifests)) {
    const pick = doc.manifests?.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64');
    if (!pick) throw new BaseImageError(`base image "${ref}" is an image index without a linux/amd64 image`);
    digest = pick.digest;
    doc = JSON.parse((await src.readBlob(digest)).toString('utf8'));
  }
  const manifest = doc as unknown as ImageManifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) throw new BaseImageError(`base image "${ref}": ${digest} is not an image manifest`);
  const config = JSON.parse((await src.readBlob(manifest.config.digest)).toString('utf8')) as ImageConfig;
  if ((config.os && config.os !== 'linux') || (config.architecture && config.architecture !== 'amd64')) {
    throw new BaseImageError(`base image "${ref}" is ${config.os}/${config.architecture}; Trainyard builds linux/amd64 images`);
  }
  if (config.rootfs?.diff_ids?.length !== manifest.layers.length) throw new BaseImageError(`base image "${ref}": its config lists ${config.rootfs?.diff_ids?.length ?? 0} diff_ids for ${manifest.layers.length} layers`);

  const layers: Descriptor[] = [];
  for (const l of manifest.layers) {
    const mediaType = LAYER_TYPES[l.mediaType];
    if (!mediaType) throw new BaseImageError(`base image "${ref}": layer ${l.digest} has unsupported media type ${l.mediaType}`);
    if (!(await into.hasBlob(l.digest))) await into.putBlob(l.digest, await src.openBlob(l.digest));
    layers.push({ mediaType, digest: l.digest, size: l.size });
  }
  return { ref, digest, layers, config };
}

const findCache = new Map<string, string | null>();

/**
 * The first of `candidates` (image paths without a leading "/") present in the
 * layers, or null. Reads the layers' tar listings; remembered per layer set.
 */
export async function findInLayers(store: ImageStore, layers: Descriptor[], candidates: string[]): Promise<string | null> {
  const key = `${layers.map((l) => l.digest).join(',')}|${candidates.join(',')}`;
  if (findCache.has(key)) return findCache.get(key)!;
  const found = new Set<string>();
  for (const l of layers) {
    for await (const entry of readLayer(store, l)) {
      const name = entryPath(entry.header.name);
      if (candidates.includes(name) && entry.header.type !== 'directory') found.add(name);
      entry.resume();
    }
  }
  const hit = candidates.find((c) => found.has(c)) ?? null;
  findCache.set(key, hit);
  return hit;
}
