/**
 * The ImageStore seam: content-addressed blobs and tagged manifests, over an
 * OCI image layout directory (embedded default) or an OCI registry.
 */
import type { Readable } from 'node:stream';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface ImageStore {
  /** where versions are stored, for imageRef strings, e.g. "oci-layout:/home/u/.trainyard/images" */
  readonly location: string;
  hasBlob(digest: string): Promise<boolean>;
  /** verifies that data hashes to digest before it becomes visible */
  putBlob(digest: string, data: Buffer | Readable): Promise<void>;
  openBlob(digest: string): Promise<Readable>;
  /** tags a manifest in repository `repo` as `tag`; returns its digest */
  putManifest(repo: string, tag: string, manifest: Buffer, mediaType: string): Promise<string>;
  /** ref is a tag or a digest */
  getManifest(repo: string, ref: string): Promise<StoredManifest | null>;
}
