/**
 * The ImageStore seam: content-addressed blobs and tagged manifests, over an
 * OCI image layout directory (embedded default) or an OCI registry.
 *
 * Blobs are addressed without a repository: a layout has one blob pool, and the
 * registry store keeps a local content-addressed cache that putManifest pushes
 * from (a registry's blobs live per repository). `adoptBlob` tells a store where
 * a blob already is (a base image's layer in a registry), so it can mount it
 * instead of uploading, or fetch it only when someone reads it.
 */
import type { Readable } from 'node:stream';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/** a blob in a registry repository: read with open(), mountable within the same registry */
export interface BlobOrigin {
  /** registry host[:port] */
  host: string;
  repo: string;
  open(): Promise<Readable>;
}

/** a blob sent while it is produced: write() its bytes in order, then finish() with its digest */
export interface BlobUpload {
  /** resolves when the caller may go on (a bounded number of bytes is buffered) */
  write(chunk: Buffer): Promise<void>;
  /** ends the upload; false when it failed (the blob is then pushed whole as usual) */
  finish(digest: string): Promise<boolean>;
  /** drops the upload: the blob will not be finished (writing it failed) */
  abort(): void;
}

export interface ImageStore {
  /** where versions are stored, e.g. "oci-layout:/home/u/.trainyard/images" or "127.0.0.1:5000/team" */
  readonly location: string;
  hasBlob(digest: string): Promise<boolean>;
  /** verifies that data hashes to digest before it becomes visible */
  putBlob(digest: string, data: Buffer | Readable): Promise<void>;
  openBlob(digest: string): Promise<Readable>;
  /** optional: the blob's bytes for one read, not kept (a base layer to list) and NOT verified: the reader hashes them (layer-read.ts does, on its listing thread); on failure, use openBlob */
  streamBlob?(digest: string): Promise<Readable>;
  /** tags a manifest in repository `repo` as `tag`; returns its digest. Every blob it names is stored before the tag moves. */
  putManifest(repo: string, tag: string, manifest: Buffer, mediaType: string): Promise<string>;
  /** ref is a tag or a digest */
  getManifest(repo: string, ref: string): Promise<StoredManifest | null>;
  /** the reference of repo:tag recorded on a version (its imageRef) */
  imageRef(repo: string, tag: string): string;
  /** optional: remember where a blob this store does not hold can be read (and mounted) from */
  adoptBlob?(digest: string, origin: BlobOrigin): void;
  /**
   * optional: start making a blob of this store present in repository `repo` now (a registry
   * push or mount), ahead of the putManifest that will name it; putManifest waits for it
   */
  pushAhead?(repo: string, blob: { digest: string; size: number; mediaType?: string }): void;
  /**
   * optional: an upload to repository `repo` of a blob still being written (a layer while it
   * is compressed), so pushing overlaps writing; putManifest then finds it there
   */
  beginUpload?(repo: string): BlobUpload;
  /**
   * optional: a folder for temp files that putBlobFile can move in by rename (same file system);
   * created if missing
   */
  stagingDir?(): Promise<string>;
  /**
   * optional: stores the file at `path` as `digest` by moving it (the file is gone afterwards).
   * The caller has hashed exactly these bytes while writing them (writeLayer); a file on another
   * file system is copied and verified like putBlob.
   */
  putBlobFile?(digest: string, path: string): Promise<void>;
  /**
   * optional: a file on this machine holding the blob's verified bytes, to read ranges of and
   * copy (a run's artifacts: downloads, and the input files of a later run). `listedIn` names a
   * manifest that lists the blob, for a store that fetches blobs it does not hold yet. A store
   * without it cannot serve artifact files.
   */
  localBlobPath?(digest: string, listedIn?: { repo: string; ref: string }): Promise<string>;
}
