/**
 * What podman runs for a version: a one-image OCI layout "view" per digest
 * (index.json naming just that manifest "latest", blobs/ a symlink to the
 * store's blobs), so podman never sees version labels, which may hold "+"
 * and are not valid container tags. Registry-backed versions are pulled by digest.
 */
import { mkdir, rename, symlink, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ImageStore } from '../../images/image-store';
import type { RunSpec } from '../executor';

export async function podmanImageFor(images: ImageStore, viewsDir: string, spec: RunSpec): Promise<string> {
  const layoutDir = (images as { dir?: string }).dir;
  if (!layoutDir) return `docker://${spec.image.ref.replace(/:[^:/]+$/, '')}@${spec.image.digest}`;
  const hex = spec.image.digest.replace(/^sha256:/, '');
  const view = join(viewsDir, hex);
  try {
    await access(join(view, 'index.json'));
    return `oci:${view}:latest`;
  } catch {
    /* first run of this version under podman */
  }
  const manifest = await images.getManifest(spec.model, spec.image.digest);
  if (!manifest) throw new Error(`the image of ${spec.model}:${spec.version} (${spec.image.digest}) is missing from ${images.location}`);
  const tmp = `${view}.tmp-${randomBytes(6).toString('hex')}`;
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await symlink(join(layoutDir, 'blobs'), join(tmp, 'blobs'));
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
  };
  await writeFile(join(tmp, 'index.json'), JSON.stringify(index));
  await rename(tmp, view).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err; // another run made it first
  });
  return `oci:${view}:latest`;
}
