/**
 * OciLayoutStore: the ImageStore over an OCI image layout directory
 * (oci-layout, index.json, blobs/sha256/<hex>), readable by skopeo, umoci and
 * podman as `oci:<dir>:<ref>`.
 *
 * - Blobs are written to <dir>/.trainyard-tmp, hashed while written, fsynced,
 *   and renamed into blobs/sha256/ only when the digest matches: a reader never
 *   sees a partial or wrong blob.
 * - A tag is an index.json entry whose `org.opencontainers.image.ref.name`
 *   annotation is `<repo>:<tag>` (e.g. `eta-correction:3f2a1c9+dirty.0a1b2c3d`);
 *   the OCI ref grammar allows ":" and "+", and skopeo splits `oci:<dir>:<ref>` at
 *   the first ":" after the directory, so the whole `<repo>:<tag>` is the ref.
 * - index.json is rewritten as temp + fsync + rename, one update at a time per
 *   process (a promise-chain mutex shared by all stores of the same directory).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageStore, StoredManifest } from './image-store';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const MEDIA_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
// OCI image-spec annotations.md: ref ::= component ("/" component)*; separator ::= [-._:@+] | "--"
const REF_NAME_RE = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

export interface IndexDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}
interface IndexJson {
  schemaVersion: 2;
  mediaType?: string;
  manifests: IndexDescriptor[];
}

/** the index.json ref name of `repo:tag`; throws when the OCI ref grammar does not allow it */
export function refNameFor(repo: string, tag: string): string {
  const name = `${repo}:${tag}`;
  if (!isValidRefName(name)) {
    throw new Error(
      `"${name}" cannot be an OCI image ref name: letters and digits separated by single ".", "_", "-", "+", ":" (or "--"), starting and ending with a letter or digit`,
    );
  }
  return name;
}

export function isValidRefName(name: string): boolean {
  return name.length <= 255 && REF_NAME_RE.test(name);
}

export function assertDigest(digest: string): void {
  if (!DIGEST_RE.test(digest)) throw new Error(`invalid digest ${JSON.stringify(digest)}: expected sha256:<64 lower-case hex>`);
}

const locks = new Map<string, Promise<unknown>>();
/** runs fn after every earlier fn of the same key has settled */
function serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return next;
}

async function fsyncPath(path: string, flags = 'r'): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class OciLayoutStore implements ImageStore {
  readonly dir: string;
  readonly location: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.location = `oci-layout:${this.dir}`;
  }

  imageRef(repo: string, tag: string): string {
    return `${this.location}:${repo}:${tag}`;
  }

  blobPath(digest: string): string {
    assertDigest(digest);
    return join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  /** creates the layout files if missing (idempotent) */
  async init(): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(this.dir, '.trainyard-tmp'), { recursive: true });
    if (!(await exists(join(this.dir, 'oci-layout')))) {
      await this.writeAtomic('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    }
    if (!(await exists(join(this.dir, 'index.json')))) {
      await serialize(this.dir, async () => {
        if (await exists(join(this.dir, 'index.json'))) return;
        await this.writeAtomic('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_INDEX, manifests: [] })));
      });
    }
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async putBlob(digest: string, data: Buffer | Readable): Promise<void> {
    const target = this.blobPath(digest);
    if (await exists(target)) {
      if (data instanceof Readable) data.destroy();
      return;
    }
    await this.init();
    const tmp = join(this.dir, '.trainyard-tmp', `blob-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      const source = data instanceof Readable ? data : Readable.from([data]);
      await pipeline(source, hasher, createWriteStream(tmp, { flags: 'wx' }));
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== digest) throw new Error(`blob digest mismatch: expected ${digest}, got ${got}`);
      await fsyncPath(tmp);
      await rename(tmp, target);
      await fsyncPath(join(this.dir, 'blobs', 'sha256'));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async stagingDir(): Promise<string> {
    await this.init();
    return join(this.dir, '.trainyard-tmp');
  }

  /** moves a file whose bytes the caller hashed to `digest` into the blob pool (fsync, rename, fsync of the folder) */
  async putBlobFile(digest: string, path: string): Promise<void> {
    const target = this.blobPath(digest);
    if (await exists(target)) {
      await rm(path, { force: true });
      return;
    }
    await this.init();
    await fsyncPath(path);
    try {
      await rename(path, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await this.putBlob(digest, createReadStream(path)); // another file system: copy, verified
      await rm(path, { force: true });
      return;
    }
    await fsyncPath(join(this.dir, 'blobs', 'sha256'));
  }

  async openBlob(digest: string): Promise<Readable> {
    const path = this.blobPath(digest);
    if (!(await exists(path))) throw new Error(`blob ${digest} is not in ${this.location}`);
    return createReadStream(path);
  }

  /** the blob's file in the layout (an error when it is not there) */
  async localBlobPath(digest: string): Promise<string> {
    const path = this.blobPath(digest);
    if (!(await exists(path))) throw new Error(`blob ${digest} is not in ${this.location}`);
    return path;
  }

  async readBlob(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  async putManifest(repo: string, tag: string, manifest: Buffer, mediaType: string): Promise<string> {
    const name = refNameFor(repo, tag);
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    await this.putBlob(digest, manifest);
    const desc: IndexDescriptor = { mediaType, digest, size: manifest.length, annotations: { [REF_NAME_ANNOTATION]: name } };
    await this.init();
    await serialize(this.dir, async () => {
      const index = await this.readIndex();
      index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== name);
      index.manifests.push(desc);
      await this.writeAtomic('index.json', Buffer.from(JSON.stringify(index, null, 2)));
    });
    return digest;
  }

  /** removes the tag repo:tag from index.json (its blobs stay until a garbage collection); false when there was none */
  async removeTag(repo: string, tag: string): Promise<boolean> {
    const name = refNameFor(repo, tag);
    await this.init();
    return serialize(this.dir, async () => {
      const index = await this.readIndex();
      const kept = index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== name);
      if (kept.length === index.manifests.length) return false;
      index.manifests = kept;
      await this.writeAtomic('index.json', Buffer.from(JSON.stringify(index, null, 2)));
      return true;
    });
  }

  async getManifest(repo: string, ref: string): Promise<StoredManifest | null> {
    if (DIGEST_RE.test(ref)) {
      if (!(await this.hasBlob(ref))) return null;
      const bytes = await this.readBlob(ref);
      return { digest: ref, mediaType: mediaTypeOf(bytes) ?? MEDIA_MANIFEST, bytes };
    }
    return this.getByRefName(`${repo}:${ref}`);
  }

  /** a manifest by its raw index.json ref name (e.g. "latest" in a base-image layout) */
  async getByRefName(name: string): Promise<StoredManifest | null> {
    const desc = (await this.readIndex()).manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === name);
    if (!desc) return null;
    return { digest: desc.digest, mediaType: desc.mediaType, bytes: await this.readBlob(desc.digest) };
  }

  /** the descriptors in index.json ([] when the layout does not exist yet) */
  async listManifests(): Promise<IndexDescriptor[]> {
    return (await this.readIndex()).manifests;
  }

  private async readIndex(): Promise<IndexJson> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'index.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: MEDIA_INDEX, manifests: [] };
      throw err;
    }
    const index = JSON.parse(text) as IndexJson;
    if (!Array.isArray(index.manifests)) throw new Error(`${join(this.dir, 'index.json')} is not an OCI image index (no "manifests" array)`);
    return index;
  }

  private async writeAtomic(name: string, bytes: Buffer): Promise<void> {
    await mkdir(join(this.dir, '.trainyard-tmp'), { recursive: true });
    const tmp = join(this.dir, '.trainyard-tmp', `${name}-${randomBytes(8).toString('hex')}`);
    try {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(this.dir, name));
      await fsyncPath(this.dir);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function mediaTypeOf(bytes: Buffer): string | null {
  try {
    const mt = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
    return typeof mt === 'string' ? mt : null;
  } catch {
    return null;
  }
}

