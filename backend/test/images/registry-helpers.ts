/** Helpers for registry tests: tiny images built in a store, and pushing them raw. */
import { createHash, randomBytes } from 'node:crypto';
import { writeLayer } from '../../src/images/layer';
import type { ImageStore } from '../../src/images/image-store';
import type { RegistryClient } from '../../src/images/registry/client';

export const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface TinyImage {
  manifest: Buffer;
  config: Buffer;
  layers: Array<{ digest: string; size: number; diffId: string }>;
}

/**
 * An image of `layers` layers written into `store` (blobs only): each layer has
 * /layerN.txt (`randomKiB` of random bytes, so gzip keeps it big) and /bin/true-ish marker.
 * `docker` makes a Docker v2 schema 2 manifest; `noMediaType` leaves the top-level mediaType out.
 */
export async function tinyImage(store: ImageStore, opts: { layers?: number; randomKiB?: number; docker?: boolean; noMediaType?: boolean; arch?: string } = {}): Promise<TinyImage> {
  const layers = [];
  for (let i = 0; i < (opts.layers ?? 1); i++) {
    const l = await writeLayer(store, [
      { type: 'file', path: `layer${i}.txt`, mode: 0o644, source: { data: randomBytes((opts.randomKiB ?? 1) * 1024) } },
      { type: 'file', path: `etc/marker-${i}`, mode: 0o644, source: { data: Buffer.from(`layer ${i}\n`) } },
    ]);
    layers.push(l);
  }
  const config = Buffer.from(JSON.stringify({ architecture: opts.arch ?? 'amd64', os: 'linux', config: { Env: ['PATH=/usr/bin:/bin'] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }));
  await store.putBlob(sha(config), config);
  const docker = !!opts.docker;
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    ...(opts.noMediaType ? {} : { mediaType: docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json' }),
    config: { mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  };
  return { manifest: Buffer.from(JSON.stringify(doc)), config, layers };
}

/** pushes an image's blobs from `store` and its manifest with the client directly */
export async function pushRaw(client: RegistryClient, store: ImageStore, repo: string, tag: string, img: TinyImage, mediaType: string): Promise<string> {
  const read = async (digest: string) => {
    const chunks: Buffer[] = [];
    for await (const c of await store.openBlob(digest)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  for (const d of [sha(img.config), ...img.layers.map((l) => l.digest)]) {
    const data = await read(d);
    await client.pushBlob(repo, d, data.length, async (o, n) => data.subarray(o, o + n));
  }
  return client.putManifest(repo, tag, img.manifest, mediaType);
}
