/**
 * RegistryClient: the OCI Distribution API calls Trainyard needs, per repository.
 *
 * - Blobs: HEAD (skip what is there), cross-repository mount
 *   (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`: 201 mounted, 202 = the
 *   registry declined and opened an upload, which we then use), monolithic upload
 *   (POST, then one PUT ?digest=) up to `chunkThreshold` bytes, chunked above it
 *   (PATCH with Content-Range per `chunkSize`, then PUT ?digest=), or, when the
 *   caller can open the blob as a stream again (a file), one streamed PUT. A failed PATCH
 *   asks the upload's status (GET → Range 0-N) and resumes at N+1; a failed PUT,
 *   or a session the registry forgot, restarts the blob from a new session. The
 *   registry verifies the digest on the final PUT, so a partial blob never
 *   becomes visible under its digest.
 * - Manifests: GET with every manifest/index media type in Accept (Docker v2
 *   schema 2, Docker manifest list, OCI manifest and index; a manifest without a
 *   top-level mediaType is typed by Content-Type, else by its shape); the digest
 *   is checked when the reference is one. PUT with the manifest's media type.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { RegistryError, RegistryHttp, type HttpOptions, type RegistryAnswer } from './http';
import type { RegistryEndpoint } from './reference';

export const MEDIA_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ACCEPT = [MEDIA_OCI_MANIFEST, MEDIA_OCI_INDEX, MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_LIST].join(', ');

export interface ClientOptions extends HttpOptions {
  /** blobs up to this size go in one PUT (default 32 MiB) */
  chunkThreshold?: number;
  /** PATCH size for larger blobs (default 16 MiB) */
  chunkSize?: number;
  /** whole-blob attempts (default 5) */
  blobAttempts?: number;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/** reads `length` bytes at `offset` of a blob being uploaded */
export type ChunkReader = (offset: number, length: number) => Promise<Buffer>;

export type PushOutcome = 'present' | 'mounted' | 'uploaded';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function manifestMediaType(bytes: Buffer, contentType: string | null): string {
  let doc: { mediaType?: unknown; manifests?: unknown; config?: { mediaType?: string } } = {};
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    /* typed by header */
  }
  if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  const ct = contentType?.split(';')[0].trim();
  if (ct && ct !== 'application/json' && ct !== 'application/octet-stream') return ct;
  if (Array.isArray(doc.manifests)) return MEDIA_OCI_INDEX;
  return doc.config?.mediaType === 'application/vnd.docker.container.image.v1+json' ? MEDIA_DOCKER_MANIFEST : MEDIA_OCI_MANIFEST;
}

export class RegistryClient {
  readonly http: RegistryHttp;
  readonly stats = { uploadedBytes: 0, mounted: 0, uploaded: 0, present: 0, resumed: 0, restarted: 0 };

  constructor(
    readonly endpoint: RegistryEndpoint,
    private readonly opts: ClientOptions = {},
  ) {
    this.http = new RegistryHttp(endpoint, opts);
  }

  private pull = (repo: string) => [`repository:${repo}:pull`];
  private push = (repo: string) => [`repository:${repo}:pull,push`];

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.http.request(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', scopes: this.pull(repo), ok: [404] });
    return res.status !== 404;
  }

  /** the blob as a stream (verified by whoever stores it) */
  async openBlob(repo: string, digest: string): Promise<Readable> {
    return this.http.openStream(`/v2/${repo}/blobs/${digest}`, { scopes: this.pull(repo) });
  }

  /**
   * Makes `digest` present in `repo`: HEAD, else mount from `from` (same
   * registry), else upload `size` bytes read through `read`. `fresh` (a blob
   * made moments before, most likely not there): no HEAD first.
   */
  async pushBlob(repo: string, digest: string, size: number, read: ChunkReader, from?: string | null, open?: () => Readable, fresh = false): Promise<PushOutcome> {
    if (!fresh && (await this.hasBlob(repo, digest))) {
      this.stats.present++;
      return 'present';
    }
    const attempts = this.opts.blobAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        let location: string;
        if (from && from !== repo) {
          const res = await this.http.request(`/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {
            method: 'POST',
            scopes: [...this.push(repo), ...this.pull(from)],
            headers: { 'content-length': '0' },
          });
          if (res.status === 201) {
            this.stats.mounted++;
            return 'mounted';
          }
          location = this.location(res);
        } else {
          location = await this.startUpload(repo);
        }
        const threshold = this.opts.chunkThreshold ?? 32 * 1024 * 1024;
        if (size <= threshold) await this.putMonolithic(repo, location, digest, await read(0, size));
        else if (open) await this.putStreamed(repo, location, digest, size, open);
        else await this.putChunked(repo, location, digest, size, read);
        this.stats.uploaded++;
        this.stats.uploadedBytes += size;
        return 'uploaded';
      } catch (err) {
        if (attempt >= attempts || (err instanceof RegistryError && err.status !== null && err.status < 500 && ![404, 416, 429].includes(err.status) && !['BLOB_UPLOAD_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'DIGEST_INVALID'].includes(err.code ?? ''))) throw err;
        this.stats.restarted++;
        await sleep(Math.min(200 * 2 ** attempt, 3000));
        // a previous attempt may have completed on the registry though its answer was lost
        if (await this.hasBlob(repo, digest)) {
          this.stats.uploaded++;
          return 'uploaded';
        }
      }
    }
  }

  /**
   * An upload whose bytes are not all known yet (a layer still being compressed): they are sent
   * as they are made, in one PATCH streaming them (chunked: the size is not known yet; one
   * request, not one per chunk, which cost ~25% more on a local registry), then the PUT that
   * names the digest. write() resolves once the chunk is taken (backpressure
   * from the socket: at most ~2 MiB wait here). The stream cannot be sent again, so any failure
   * fails the upload (callers push the blob whole instead).
   */
  async openUpload(repo: string): Promise<{ write(data: Buffer): Promise<void>; commit(digest: string): Promise<void>; abort(): void }> {
    const location = await this.startUpload(repo);
    const body = new PassThrough({ highWaterMark: 1 << 20 });
    let used = false;
    let sent = 0;
    const patched = this.http.request(location, {
      method: 'PATCH',
      scopes: this.push(repo),
      headers: { 'content-type': 'application/octet-stream' },
      body: () => {
        if (used) throw new RegistryError(`registry ${this.endpoint.host}: a streamed upload cannot be sent again`, null);
        used = true;
        return body;
      },
      noRetry: true,
    });
    patched.catch(() => body.destroy());
    const closed = () => new RegistryError(`registry ${this.endpoint.host}: the upload stream is closed`, null);
    // a write waiting for room when the stream is destroyed (abort, a failed PATCH) never gets its callback: it fails then
    const waiting = new Set<(err: Error) => void>();
    body.once('close', () => {
      for (const fail of waiting) fail(closed());
      waiting.clear();
    });
    return {
      write: (data: Buffer) =>
        new Promise<void>((resolve, reject) => {
          if (body.destroyed || body.writableEnded) return reject(closed());
          sent += data.length;
          waiting.add(reject);
          body.write(data, (err) => {
            waiting.delete(reject);
            if (err) reject(err);
            else resolve();
          });
        }),
      commit: async (digest: string) => {
        body.end();
        const res = await patched;
        const put = await this.http.request(this.withDigest(this.location(res), digest), { method: 'PUT', scopes: this.push(repo), headers: { 'content-length': '0' }, noRetry: true });
        this.stats.uploaded++;
        this.stats.uploadedBytes += sent;
      },
      abort: () => {
        // ends the PATCH: nothing is committed. What the registry got stays in its upload folder
        // until it purges stale uploads (a DELETE needs the upload's current state, which only the
        // PATCH's answer would give)
        if (!body.writableEnded) body.destroy();
      },
    };
  }

  private location(res: RegistryAnswer): string {
    const loc = res.headers.get('location');
    if (!loc) throw new RegistryError(`registry ${this.endpoint.host}: upload answer ${res.status} without a Location`, res.status);
    return new URL(loc, this.endpoint.baseUrl).toString();
  }

  private async startUpload(repo: string): Promise<string> {
    const res = await this.http.request(`/v2/${repo}/blobs/uploads/`, { method: 'POST', scopes: this.push(repo), headers: { 'content-length': '0' } });
    return this.location(res);
  }

  private withDigest(location: string, digest: string): string {
    const u = new URL(location);
    u.searchParams.set('digest', digest);
    return u.toString();
  }

  private async putMonolithic(repo: string, location: string, digest: string, data: Buffer): Promise<void> {
    const res = await this.http.request(this.withDigest(location, digest), {
      method: 'PUT',
      scopes: this.push(repo),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
      body: data,
      noRetry: true,
    });
  }

  /** one PUT streaming the whole blob (a file: bounded memory, no per-chunk round trips); a failure restarts the blob */
  private async putStreamed(repo: string, location: string, digest: string, size: number, open: () => Readable): Promise<void> {
    const res = await this.http.request(this.withDigest(location, digest), {
      method: 'PUT',
      scopes: this.push(repo),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: open,
      noRetry: true,
    });
  }

  /** PATCHes the bytes at `offset` of an upload (no retry: callers resume or restart); returns the upload's next location */
  private async patchChunk(repo: string, location: string, offset: number, data: Buffer): Promise<string> {
    const res = await this.http.request(location, {
      method: 'PATCH',
      scopes: this.push(repo),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + data.length - 1}`, 'content-length': String(data.length) },
      body: data,
      noRetry: true,
    });
    return this.location(res);
  }

  private async putChunked(repo: string, location: string, digest: string, size: number, read: ChunkReader): Promise<void> {
    const chunk = this.opts.chunkSize ?? 16 * 1024 * 1024;
    let offset = 0;
    let failures = 0;
    while (offset < size) {
      const data = await read(offset, Math.min(chunk, size - offset));
      try {
        location = await this.patchChunk(repo, location, offset, data);
        offset += data.length;
        failures = 0;
      } catch (err) {
        if (++failures > 4 || (err instanceof RegistryError && err.status !== null && err.status < 500 && err.status !== 429)) throw err;
        await sleep(200 * 2 ** failures);
        // where is the upload now? (GET the session: 204 with Range: 0-<last byte>)
        const st = await this.http.request(location, { scopes: this.push(repo), ok: [204] });
        // Distribution answers "0-<size-1>", and "0-0" for both 0 and 1 byte: resume at 0 then
        // (a wrong guess is a 416 on the next PATCH, which restarts the blob)
        const range = /^(?:bytes=)?0-(\d+)$/.exec(st.headers.get('range') ?? '');
        if (!range) throw err;
        location = st.headers.get('location') ? this.location(st) : location;
        offset = range[1] === '0' ? 0 : Number(range[1]) + 1;
        this.stats.resumed++;
      }
    }
    const res = await this.http.request(this.withDigest(location, digest), {
      method: 'PUT',
      scopes: this.push(repo),
      headers: { 'content-length': '0' },
      noRetry: true,
    });
  }

  async getManifest(repo: string, ref: string): Promise<FetchedManifest | null> {
    const res = await this.http.request(`/v2/${repo}/manifests/${ref}`, { scopes: this.pull(repo), headers: { accept: ACCEPT }, ok: [404] });
    if (res.status === 404) return null;
    const bytes = res.bytes;
    const digest = sha256(bytes);
    if (ref.startsWith('sha256:') && digest !== ref) throw new RegistryError(`registry ${this.endpoint.host}: manifest ${repo}@${ref} hashes to ${digest}`);
    return { digest, mediaType: manifestMediaType(bytes, res.headers.get('content-type')), bytes };
  }

  async putManifest(repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<string> {
    const res = await this.http.request(`/v2/${repo}/manifests/${ref}`, {
      method: 'PUT',
      scopes: this.push(repo),
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    const digest = sha256(bytes);
    const said = res.headers.get('docker-content-digest');
    if (said && said !== digest) throw new RegistryError(`registry ${this.endpoint.host}: stored manifest ${repo}:${ref} as ${said}, expected ${digest}`);
    return digest;
  }
}
