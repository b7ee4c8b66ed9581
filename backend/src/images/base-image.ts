/**
 * Base images from OCI layout directories: `oci-layout:<dir>[:<ref>]`,
 * `oci:<dir>[:<ref>]` or a path `<dir>[:<ref>]` (no ref: the layout's only
 * image, else its "latest"), or from a registry: `host[:port]/repo[:tag|@digest]`
 * (Docker v2 schema 2 or OCI, with or without a top-level mediaType). An image
 * index is narrowed to linux/amd64. Layout layers are copied into our store
 * (verified by the store); registry layers are adopted by a store that can
 * (RegistryStore: mounted on push, downloaded only when read), else copied.
 * The config is returned for the builder to extend. Docker Hub short names
 * (python:3.11-slim) are not resolved: name the registry.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ImageStore } from './image-store';
import { OciLayoutStore, REF_NAME_ANNOTATION } from './oci-layout';
import { parseLayoutRef, type LayoutRef } from './open';
import { RegistryStore } from './registry-store';
import { RegistryClient } from './registry/client';
import { parseRegistryRef, type RegistryRef } from './registry/reference';
import { MEDIA_LAYER_GZIP, MEDIA_LAYER_ZSTD } from './compression';

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
  [MEDIA_LAYER_ZSTD]: MEDIA_LAYER_ZSTD,
  'application/vnd.oci.image.layer.v1.tar': 'application/vnd.oci.image.layer.v1.tar',
};

/** the base image reference is wrong or unusable: the user has something to fix */
export class BaseImageError extends Error {}

interface BaseSource {
  /** manifest (or index) bytes by digest, and of the named ref when digest is null */
  manifest(digest: string | null): Promise<{ digest: string; mediaType: string; bytes: Buffer }>;
  readBlob(digest: string): Promise<Buffer>;
  /** copies or adopts a layer into `into` */
  bring(into: ImageStore, layer: Descriptor): Promise<void>;
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function layoutSource(ref: string, parsed: LayoutRef): Promise<BaseSource> {
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
  return {
    async manifest(digest) {
      const d = digest ?? desc.digest;
      return { digest: d, mediaType: digest ? '' : desc.mediaType, bytes: await src.readBlob(d) };
    },
    readBlob: (d) => src.readBlob(d),
    async bring(into, l) {
      if (!(await into.hasBlob(l.digest))) await into.putBlob(l.digest, await src.openBlob(l.digest));
    },
  };
}

/** small registry blobs (image configs) by digest: content-addressed and verified, so never stale */
const configCache = new Map<string, Buffer>();

function registrySource(ref: string, parsed: RegistryRef, into: ImageStore): BaseSource {
  const shared = into instanceof RegistryStore && into.registry.host === parsed.endpoint.host ? into.client : null;
  const client = shared ?? new RegistryClient(parsed.endpoint);
  const where = `${parsed.endpoint.host}/${parsed.repo}`;
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof BaseImageError) throw err;
      throw new BaseImageError(`base image "${ref}": ${what} from ${where} failed: ${(err as Error).message}`);
    }
  };
  return {
    manifest: (digest) =>
      wrap('reading the manifest', async () => {
        const got = await client.getManifest(parsed.repo, digest ?? parsed.ref);
        if (!got) throw new BaseImageError(`base image "${ref}": ${where} has no image "${digest ?? parsed.ref}"`);
        return got;
      }),
    readBlob: (d) =>
      wrap(`reading blob ${d}`, async () => {
        const known = configCache.get(d);
        if (known) return known;
        const b = await readAll(await client.openBlob(parsed.repo, d));
        if (sha256(b) !== d) throw new Error(`blob ${d} hashes to ${sha256(b)}`);
        if (b.length <= 1 << 20) {
          if (configCache.size >= 64) configCache.delete(configCache.keys().next().value!);
          configCache.set(d, b);
        }
        return b;
      }),
    async bring(into, l) {
      const origin = { host: parsed.endpoint.host, repo: parsed.repo, open: () => client.openBlob(parsed.repo, l.digest) };
      if (into.adoptBlob) into.adoptBlob(l.digest, origin);
      else if (!(await into.hasBlob(l.digest))) await wrap(`copying layer ${l.digest}`, async () => into.putBlob(l.digest, await origin.open()));
    },
  };
}

export async function resolveBaseImage(ref: string, into: ImageStore): Promise<ResolvedBase> {
  const layoutRef = parseLayoutRef(ref);
  const registryRef = layoutRef ? null : parseRegistryRef(ref, into instanceof RegistryStore ? into.registry : undefined);
  if (!layoutRef && !registryRef) {
    throw new BaseImageError(
      `base image "${ref}": not an OCI layout directory (oci-layout:<dir>[:<ref>], oci:<dir>[:<ref>], an absolute path) nor a registry image (host[:port]/repo[:tag|@digest], e.g. 127.0.0.1:5000/team/python:3.11)`,
    );
  }
  const src = layoutRef ? await layoutSource(ref, layoutRef) : registrySource(ref, registryRef!, into);

  const top = await src.manifest(null);
  let digest = top.digest;
  let doc = JSON.parse(top.bytes.toString('utf8')) as { mediaType?: string; manifests?: Array<Descriptor & { platform?: { os: string; architecture: string } }> };
  if (INDEX_TYPES.has(doc.mediaType ?? top.mediaType) || Array.isArray(doc.manifests)) {
    const pick = doc.manifests?.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64');
    if (!pick) throw new BaseImageError(`base image "${ref}" is an image index without a linux/amd64 image`);
    digest = pick.digest;
    doc = JSON.parse((await src.manifest(digest)).bytes.toString('utf8'));
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
    await src.bring(into, l);
    layers.push({ mediaType, digest: l.digest, size: l.size });
  }
  return { ref, digest, layers, config };
}
