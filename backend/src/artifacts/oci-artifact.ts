/**
 * A run's artifacts as an OCI artifact (image-spec 1.1 "artifact" guidance):
 * an image manifest with `artifactType: application/vnd.trainyard.run-output.v1`,
 * the empty config, and one layer per file (the raw bytes, not a tar) whose
 * `org.opencontainers.image.title` is the file's path, as oras writes them.
 * Layers are sorted by path, so the same files give the same manifest digest.
 * Blobs are content-addressed in the image store: a file equal across runs is
 * stored once.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ARTIFACT_FILE_MEDIA_TYPE, ARTIFACT_TYPE, type ArtifactFile } from '@trainyard/shared';
import type { ImageStore } from '../images/image-store';
import { MEDIA_MANIFEST } from '../images/oci-layout';

export const TITLE_ANNOTATION = 'org.opencontainers.image.title';
export const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
const EMPTY_BYTES = Buffer.from('{}');
const EMPTY_DIGEST = `sha256:${createHash('sha256').update(EMPTY_BYTES).digest('hex')}`;

export interface ArtifactMeta {
  runId: string;
  model: string;
  version: string;
  entrypoint: string;
  params: Record<string, unknown>;
}

/** the tag of a run's artifact in its model's repository: run-<id>, in the Docker tag alphabet */
export function artifactTag(runId: string): string {
  return `run-${runId}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128);
}

export function artifactManifest(meta: ArtifactMeta, files: ArtifactFile[]): Buffer {
  const layers = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => ({ mediaType: ARTIFACT_FILE_MEDIA_TYPE, digest: `sha256:${f.sha256}`, size: f.size, annotations: { [TITLE_ANNOTATION]: f.path } }));
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_MANIFEST,
    artifactType: ARTIFACT_TYPE,
    config: { mediaType: EMPTY_MEDIA_TYPE, digest: EMPTY_DIGEST, size: EMPTY_BYTES.length },
    layers: layers.length ? layers : [{ mediaType: EMPTY_MEDIA_TYPE, digest: EMPTY_DIGEST, size: EMPTY_BYTES.length }],
    annotations: {
      'dev.trainyard.run-id': meta.runId,
      'dev.trainyard.model': meta.model,
      'dev.trainyard.version': meta.version,
      'dev.trainyard.entrypoint': meta.entrypoint,
      'dev.trainyard.params': JSON.stringify(meta.params),
    },
  };
  return Buffer.from(JSON.stringify(manifest));
}

/** sha256 (hex) and size of a file, read once */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

/** Stores the blobs the store lacks, then tags the manifest; returns the artifact's reference and digest. */
export async function putArtifact(
  images: ImageStore,
  meta: ArtifactMeta,
  files: Array<ArtifactFile & { abs: string }>,
): Promise<{ ref: string; digest: string }> {
  for (const f of files) {
    const digest = `sha256:${f.sha256}`;
    if (await images.hasBlob(digest)) continue;
    await images.putBlob(digest, createReadStream(f.abs, { highWaterMark: 1 << 20 }));
  }
  return tagArtifact(images, meta, files);
}

/** Tags the artifact manifest of files whose blobs the store already holds. */
export async function tagArtifact(images: ImageStore, meta: ArtifactMeta, files: ArtifactFile[]): Promise<{ ref: string; digest: string }> {
  if (!(await images.hasBlob(EMPTY_DIGEST))) await images.putBlob(EMPTY_DIGEST, EMPTY_BYTES);
  const tag = artifactTag(meta.runId);
  const digest = await images.putManifest(meta.model, tag, artifactManifest(meta, files), MEDIA_MANIFEST);
  return { ref: images.imageRef(meta.model, tag), digest };
}
