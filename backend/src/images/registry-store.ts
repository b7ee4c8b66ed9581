/**
 * RegistryStore: the ImageStore over an OCI registry (`images.registry:
 * http://127.0.0.1:5000/team`; model `eta` ⇒ repository `team/eta`).
 *
 * Builders write blobs without knowing a repository, and read base layers back
 * (python3 lookup, dist-info), so the store keeps a local content-addressed
 * cache (an OCI layout's blob pool) and pushes at putManifest time:
 *   for the config and every layer: HEAD in the target repository (skip) →
 *   cross-repository mount when the blob is known in another repository of the
 *   same registry (a base image's layers) → upload from the cache (monolithic or
 *   chunked, resumable) — then, and only then, PUT the manifest under its tag.
 * The registry refuses a manifest whose blobs are missing, and a version is
 * recorded only after putManifest returns: no version points at a partial image.
 * Blobs known only remotely (adoptBlob, or the layers of a manifest read with
 * getManifest) are downloaded into the cache, verified, the first time they are read.
 * Tags: version labels map to Docker tags with tagFor() ("+" ⇒ "_").
 * Blobs this store has pushed, mounted or seen present in a repository are
 * remembered (per repository, for the store's lifetime) and not asked about
 * again; if the registry then refuses the manifest for a missing blob (it was
 * deleted behind our back), the memory of that repository is dropped and the
 * push is done again with every check.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { BlobOrigin, BlobUpload, ImageStore, StoredManifest } from './image-store';
import { OciLayoutStore } from './oci-layout';
import { RegistryClient, type ClientOptions, type PushOutcome } from './registry/client';
import { isDigestRef, tagFor, type RegistryLocation } from './registry/reference';
import { timeStage } from '@trainyard/shared/snapshot/stages';

interface Desc {
  digest: string;
  size: number;
  mediaType?: string;
}

/** pushes ahead remembered at most (forgetting one only means pushBlobs checks that blob again) */
const AHEAD_MAX = 4096;
/**
 * A blob this store wrote moments before (a new config, a small code layer) and no bigger than
 * this is pushed without asking the registry first (HEAD): it is almost never there, and when it
 * is, uploading it again costs one request and at most this many bytes more than the HEAD would.
 */
const FRESH_MAX = 1 << 20;
/** blobs written here remembered at most, as fresh (forgetting one only means a HEAD first) */
const MADE_MAX = 256;

export class RegistryStore implements ImageStore {
  readonly location: string;
  readonly client: RegistryClient;
  readonly cache: OciLayoutStore;
  private readonly origins = new Map<string, BlobOrigin>();
  /** repository → blobs known to be in it */
  private readonly present = new Map<string, Set<string>>();
  /** what the last putManifest did per blob, for progress and tests */
  lastPush: Record<string, PushOutcome> = {};
  /** pushes started by pushAhead, by "repository digest", until putManifest takes their outcome */
  private readonly ahead = new Map<string, Promise<PushOutcome>>();
  /** the blobs this store wrote lately (putBlob, putBlobFile): pushed without a HEAD first when small (FRESH_MAX) */
  private readonly made = new Set<string>();

  constructor(
    readonly registry: RegistryLocation,
    cacheDir: string,
    opts: ClientOptions = {},
  ) {
    this.location = registry.namespace ? `${registry.host}/${registry.namespace}` : registry.host;
    this.client = new RegistryClient(registry, opts);
    this.cache = new OciLayoutStore(cacheDir);
  }

  /** the registry repository of a model */
  repoName(repo: string): string {
    return this.registry.namespace ? `${this.registry.namespace}/${repo}` : repo;
  }

  imageRef(repo: string, tag: string): string {
    return `${this.location}/${repo}:${tagFor(tag)}`;
  }

  hasBlob(digest: string): Promise<boolean> {
    return this.cache.hasBlob(digest);
  }

  async putBlob(digest: string, data: Buffer | Readable): Promise<void> {
    await this.cache.putBlob(digest, data);
    this.madeHere(digest);
  }

  stagingDir(): Promise<string> {
    return this.cache.stagingDir();
  }

  async putBlobFile(digest: string, path: string): Promise<void> {
    await this.cache.putBlobFile(digest, path);
    this.madeHere(digest);
  }

  private madeHere(digest: string): void {
    if (this.made.size >= MADE_MAX) this.made.delete(this.made.values().next().value!);
    this.made.add(digest);
  }

  adoptBlob(digest: string, origin: BlobOrigin): void {
    if (!this.origins.has(digest) || origin.host === this.registry.host) this.origins.set(digest, origin);
  }

  async openBlob(digest: string): Promise<Readable> {
    await this.fetchIntoCache(digest);
    return this.cache.openBlob(digest);
  }

  /**
   * The blob's bytes as they download, not kept (a base layer is only listed: its blobs are
   * mounted, never read again), NOT verified here: the reader hashes them where it has them
   * (layer-read.ts, on the listing thread, so the server's main thread does not) and fails on a
   * mismatch. Cached blobs are read from the cache. No retry: on failure use openBlob.
   */
  async streamBlob(digest: string): Promise<Readable> {
    if (await this.cache.hasBlob(digest)) return this.cache.openBlob(digest);
    const origin = this.origins.get(digest);
    if (!origin) return this.openBlob(digest); // says where it is not
    return origin.open();
  }

  /** the blob's file in the local cache, downloaded (and verified) first when missing */
  async localBlobPath(digest: string, listedIn?: { repo: string; ref: string }): Promise<string> {
    if (!(await this.cache.hasBlob(digest))) {
      if (listedIn && !this.origins.has(digest)) await this.getManifest(listedIn.repo, listedIn.ref); // tells where its layers are
      await this.fetchIntoCache(digest);
    }
    return this.cache.blobPath(digest);
  }

  private async fetchIntoCache(digest: string): Promise<void> {
    if (await this.cache.hasBlob(digest)) return;
    const origin = this.origins.get(digest);
    if (!origin) throw new Error(`blob ${digest} is neither in the local cache nor known in registry ${this.location}`);
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.cache.putBlob(digest, await origin.open());
        return;
      } catch (err) {
        lastErr = err; // a dropped download: start again (the cache verifies the digest)
      }
    }
    throw lastErr;
  }

  async putManifest(repo: string, tag: string, manifest: Buffer, mediaType: string): Promise<string> {
    return this.pushManifest(repo, tagFor(tag), manifest, mediaType);
  }

  /** pushes a manifest (and its blobs) by digest, without a tag: pullable as repo@digest (a self-test runs it before it is a version) */
  putUntagged(repo: string, manifest: Buffer, mediaType: string): Promise<string> {
    return this.pushManifest(repo, `sha256:${createHash('sha256').update(manifest).digest('hex')}`, manifest, mediaType);
  }

  private async pushManifest(repo: string, ref: string, manifest: Buffer, mediaType: string): Promise<string> {
    const name = this.repoName(repo);
    const doc = JSON.parse(manifest.toString('utf8')) as { config?: Desc; layers?: Desc[]; manifests?: Desc[] };
    if (!doc.config || !Array.isArray(doc.layers)) throw new Error('RegistryStore.putManifest: only image manifests (config + layers) are pushed');
    const blobs = [doc.config, ...doc.layers];
    await timeStage('push blobs', () => this.pushBlobs(name, blobs));
    try {
      return await timeStage('push manifest', () => this.client.putManifest(name, ref, manifest, mediaType));
    } catch (err) {
      const known = this.present.get(name);
      if (!known || !blobs.some((b) => known.has(b.digest) && this.lastPush[b.digest] === 'present')) throw err;
      // a blob we remembered may be gone: check every one again, then retry once
      this.present.delete(name);
      await this.pushBlobs(name, blobs);
      return this.client.putManifest(name, ref, manifest, mediaType);
    }
  }

  /**
   * Starts pushing a blob of the store (a layer just written, a base layer to mount) to the
   * repository of `repo` now, while the build goes on; putManifest waits for it and takes its
   * outcome (a failed push ahead is simply done again there).
   */
  pushAhead(repo: string, d: Desc): void {
    const name = this.repoName(repo);
    const key = `${name} ${d.digest}`;
    if (this.ahead.has(key) || this.present.get(name)?.has(d.digest)) return;
    const p = this.pushOne(name, d);
    p.catch(() => undefined); // awaited by pushBlobs, which pushes again on failure
    this.rememberAhead(key, p);
  }

  /**
   * Uploads a blob while it is written (beginUpload in image-store.ts): its bytes stream out in
   * one request as they are made (RegistryClient.openUpload), the writer waiting while the socket
   * is full (bounded memory); any failure drops the upload and putManifest pushes the blob whole
   * from the cache.
   */
  beginUpload(repo: string): BlobUpload {
    const name = this.repoName(repo);
    const session = this.client.openUpload(name);
    let failed = false;
    session.catch(() => (failed = true));
    return {
      write: async (chunk) => {
        if (failed) return;
        try {
          await (await session).write(chunk);
        } catch {
          failed = true;
        }
      },
      finish: async (digest) => {
        if (failed) return false;
        try {
          await (await session).commit(digest);
        } catch {
          return false;
        }
        let known = this.present.get(name);
        if (!known) this.present.set(name, (known = new Set()));
        known.add(digest);
        this.rememberAhead(`${name} ${digest}`, Promise.resolve('uploaded'));
        return true;
      },
      abort: () => {
        failed = true;
        session.then((s) => s.abort(), () => undefined);
      },
    };
  }

  /**
   * Makes a blob present in the repository of `repo` straight from a file whose bytes the caller
   * hashed to d.digest (a run's output file), with no copy in the cache; the registry verifies the
   * digest. putManifest then finds it there. Reading it back later fetches it from the registry.
   */
  async pushFile(repo: string, d: Desc, path: string): Promise<PushOutcome> {
    const name = this.repoName(repo);
    if (this.present.get(name)?.has(d.digest)) return 'present';
    const outcome = await this.client.pushBlob(name, d.digest, d.size, (offset, length) => readFileRange(path, offset, length), null, () =>
      createReadStream(path, { highWaterMark: 1 << 20 }),
    );
    let known = this.present.get(name);
    if (!known) this.present.set(name, (known = new Set()));
    known.add(d.digest);
    return outcome;
  }

  private async pushOne(name: string, d: Desc): Promise<PushOutcome> {
    const origin = this.origins.get(d.digest);
    const from = origin && origin.host === this.registry.host ? origin.repo : null;
    const fresh = !origin && d.size <= FRESH_MAX && this.made.has(d.digest);
    const outcome = await this.client.pushBlob(name, d.digest, d.size, (offset, length) => this.readRange(d.digest, offset, length), from, undefined, fresh);
    let known = this.present.get(name);
    if (!known) this.present.set(name, (known = new Set()));
    known.add(d.digest);
    return outcome;
  }

  /** a push ahead, until putManifest takes it; a build that never gets to putManifest leaves it, so the oldest go past AHEAD_MAX */
  private rememberAhead(key: string, p: Promise<PushOutcome>): void {
    if (this.ahead.size >= AHEAD_MAX) this.ahead.delete(this.ahead.keys().next().value!);
    this.ahead.set(key, p);
  }

  private async pushBlobs(name: string, blobs: Desc[]): Promise<void> {
    const outcome: Record<string, PushOutcome> = {};
    // the pushes started ahead: their outcome, or (failed) a push again below
    await Promise.all(
      blobs.map(async (d) => {
        const p = this.ahead.get(`${name} ${d.digest}`);
        if (!p) return;
        this.ahead.delete(`${name} ${d.digest}`);
        const got = await p.catch(() => null);
        if (got) outcome[d.digest] = got;
      }),
    );
    let known = this.present.get(name);
    if (!known) this.present.set(name, (known = new Set()));
    const queue = blobs.filter((d) => {
      if (outcome[d.digest]) return false;
      if (!known.has(d.digest)) return true;
      outcome[d.digest] = 'present';
      return false;
    });
    const worker = async () => {
      for (let d = queue.shift(); d; d = queue.shift()) outcome[d.digest] = await this.pushOne(name, d);
    };
    await Promise.all([worker(), worker(), worker()]);
    this.lastPush = outcome;
  }

  private async readRange(digest: string, offset: number, length: number): Promise<Buffer> {
    await this.fetchIntoCache(digest);
    return readFileRange(this.cache.blobPath(digest), offset, length);
  }

  async getManifest(repo: string, ref: string): Promise<StoredManifest | null> {
    const name = this.repoName(repo);
    const got = await this.client.getManifest(name, isDigestRef(ref) ? ref : tagFor(ref));
    if (!got) return null;
    this.learnBlobs(name, got.bytes);
    return got;
  }

  /** records the blobs of an image manifest in `repo` as readable from there */
  learnBlobs(repo: string, bytes: Buffer, client: RegistryClient = this.client): void {
    let doc: { config?: Desc; layers?: Desc[] };
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      return;
    }
    for (const d of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
      this.adoptBlob(d.digest, { host: client.endpoint.host, repo, open: () => client.openBlob(repo, d.digest) });
    }
  }
}

/** `length` bytes of the file at `offset` (an error when the file is shorter) */
async function readFileRange(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await openFile(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) throw new Error(`${path} is shorter than ${offset + length} bytes`);
      got += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}
