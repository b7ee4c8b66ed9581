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
import { open } from 'node:fs/promises';
import { ARTIFACT_FILE_MEDIA_TYPE, ARTIFACT_TYPE, type ArtifactFile } from '@trainyard/shared';
import type { ImageStore } from '../images/image-store';
import { MEDIA_MANIFEST } from '../images/oci-layout';
import { RegistryStore } from '../images/registry-store';

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

/** sha256 (hex) and size of a file, read once (reads of up to 1 MiB into one buffer no larger than the file: no stream per file) */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.max(4096, Math.min(1 << 20, (await fh.stat()).size + 1)));
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { sha256: h.digest('hex'), size };
  } finally {
    await fh.close();
  }
}

/** files pushed to a registry at once */
const PUSH_CONCURRENCY = 8;

/**
 * For a registry store: pushes each file as soon as it is hashed (PUSH_CONCURRENCY at a time), so
 * hashing the next files overlaps uploading these; putArtifact then finds them present. A failed
 * push ahead is left to putArtifact, which pushes again and reports. Other stores: nothing.
 */
export function pushAhead(images: ImageStore, model: string): { add(f: ArtifactFile & { abs: string }): void; settled(): Promise<void> } {
  if (!(images instanceof RegistryStore)) return { add: () => undefined, settled: async () => undefined };
  const queue: Array<ArtifactFile & { abs: string }> = [];
  const waiting: Array<() => void> = [];
  let running = 0;
  const next = () => {
    while (running < PUSH_CONCURRENCY && queue.length) {
      const f = queue.shift()!;
      running++;
      images
        .pushFile(model, { digest: `sha256:${f.sha256}`, size: f.size, mediaType: ARTIFACT_FILE_MEDIA_TYPE }, f.abs)
        .catch(() => undefined)
        .finally(() => {
          running--;
          next();
        });
    }
    if (running === 0 && queue.length === 0) waiting.splice(0).forEach((resolve) => resolve());
  };
  return {
    add: (f) => {
      queue.push(f);
      next();
    },
    settled: () => new Promise<void>((resolve) => (running === 0 && queue.length === 0 ? resolve() : waiting.push(resolve))),
  };
}

/**
 * Stores the blobs the store lacks, then tags the manifest; returns the artifact's reference and
 * digest. A registry store gets each file pushed from where it is (largest first, PUSH_CONCURRENCY
 * at a time; the registry verifies every digest), with no copy in its local cache.
 */
export async function putArtifact(
  images: ImageStore,
  meta: ArtifactMeta,
  files: Array<ArtifactFile & { abs: string }>,
): Promise<{ ref: string; digest: string }> {
  if (images instanceof RegistryStore) {
    const queue = [...files].sort((a, b) => b.size - a.size);
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        await images.pushFile(meta.model, { digest: `sha256:${f.sha256}`, size: f.size, mediaType: ARTIFACT_FILE_MEDIA_TYPE }, f.abs);
      }
    };
    await Promise.all(Array.from({ length: PUSH_CONCURRENCY }, worker));
    return tagArtifact(images, meta, files);
  }
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
