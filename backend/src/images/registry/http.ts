/**
 * HTTP to one registry: authentication and retries, on node:http(s).
 *
 * Auth: a request goes out with what we know for its scope (a cached bearer
 * token, or basic credentials once the registry asked for them). A 401 carries
 * a WWW-Authenticate challenge: `Basic` ⇒ retry with the configured
 * credentials; `Bearer realm=…,service=…,scope=…` ⇒ GET the realm with service
 * and the scopes (ours plus the challenge's), with basic credentials when we
 * have them, take `token` (or `access_token`), cache it per scope until shortly
 * before `expires_in`, retry. A second 401 is an error naming the registry.
 *
 * Retries: 429 and 5xx answers, dropped connections (ECONNRESET, socket closed,
 * timeouts) and failures to connect (refused, host not found or unreachable) are retried
 * with exponential backoff and jitter (Retry-After honoured, capped), up to `retries` times.
 * Only requests whose body can be sent again (Buffer, none, or a function that opens the
 * stream again) are retried here; an upload that needs more than a replay (resuming a chunked
 * upload) handles it itself (client.ts).
 *
 * Every request goes out on node:http, not fetch: fetch copies a Buffer body twice and keeps
 * every chunk of a streamed one until the answer, and loading it (undici, and compiling its
 * HTTP parser's WebAssembly) cost a server's first save ~200 ms of CPU. A blob is read as the
 * socket's own stream (openStream); every other answer (manifests, upload sessions, errors,
 * tokens: small) is read whole (RegistryAnswer, at most MAX_ANSWER bytes). GET and HEAD follow
 * redirects; credentials go to the registry's own host only. node:http(s) is taken as
 * shared/src/http-fetch.ts takes it (requestFor): the ESM view of node:http loads undici.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { headerOf, requestFor } from '@trainyard/shared/http-fetch';
import { pipeline } from 'node:stream/promises';
import type { RegistryEndpoint } from './reference';

/** a registry's answer other than a blob's bytes, read whole */
export interface RegistryAnswer {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  bytes: Buffer;
  text(): string;
  json(): unknown;
}

/** the largest answer read whole (a manifest is at most 4 MiB: OCI distribution spec) */
export const MAX_ANSWER = 16 << 20;
/** redirects a GET or HEAD follows */
const MAX_HOPS = 5;
const REDIRECTS = [301, 302, 303, 307, 308];

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface HttpOptions {
  /** retries after the first attempt (default 5) */
  retries?: number;
  /** first backoff in ms (default 200), doubled per retry, capped at 5 s */
  backoffMs?: number;
  /** per-request timeout in ms (default 300 s) */
  timeoutMs?: number;
}

export interface RequestInit2 {
  method?: string;
  headers?: Record<string, string>;
  /** a Buffer, or a function giving a fresh stream of the same bytes for each attempt (a file) */
  body?: Buffer | (() => Readable);
  /** the token scopes this request needs, e.g. ["repository:team/eta:pull,push"] */
  scopes: string[];
  /** statuses that are answers, not errors (default: 2xx) */
  ok?: number[];
  /** do not retry (the caller resumes itself) */
  noRetry?: boolean;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenge(header: string): Challenge | null {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}

function covers(granted: string[], want: string): boolean {
  const cut = want.lastIndexOf(':');
  const res = want.slice(0, cut);
  const actions = want.slice(cut + 1).split(',');
  return granted.some((g) => {
    const gc = g.lastIndexOf(':');
    if (g.slice(0, gc) !== res) return false;
    const have = g.slice(gc + 1).split(',');
    return actions.every((a) => have.includes(a));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isTransient(err: unknown): boolean {
  if (err instanceof RegistryError) return false;
  const e = err as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TypeError' || e?.name === 'AbortError' || e?.name === 'TimeoutError') return true;
  const code = e?.code ?? e?.cause?.code ?? '';
  // a host not found or not reachable too: fetch, which carried these requests before, retried every failure to connect
  return /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)/.test(code);
}

export class RegistryHttp {
  private readonly tokens = new Map<string, { token: string; until: number }>();
  private basic = false;
  private readonly pendingTokens = new Map<string, Promise<void>>();
  /** counters, for tests and progress */
  readonly stats = { requests: 0, retries: 0, tokenFetches: 0 };

  constructor(
    readonly endpoint: RegistryEndpoint,
    private readonly opts: HttpOptions = {},
  ) {}

  /** a request's socket idle limit (HttpOptions.timeoutMs) */
  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? 300_000;
  }

  private basicHeader(): string | null {
    const { username, password } = this.endpoint;
    if (username === undefined) return null;
    return `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  }

  private authFor(scopes: string[]): string | null {
    const now = Date.now();
    const t = this.tokens.get(scopes.join(' '));
    if (t && t.until > now) return `Bearer ${t.token}`;
    // a token granted for more (repository:x:pull,push) serves a request for less (repository:x:pull)
    for (const [key, tok] of this.tokens) {
      if (tok.until > now && scopes.every((s) => covers(key.split(' '), s))) return `Bearer ${tok.token}`;
    }
    if (this.basic) return this.basicHeader();
    return null;
  }

  private async answerChallenge(header: string | null, scopes: string[]): Promise<void> {
    const ch = header ? parseChallenge(header) : null;
    if (!ch) throw new RegistryError(`${this.endpoint.host} answered 401 without a WWW-Authenticate challenge`, 401, 'UNAUTHORIZED');
    if (ch.scheme === 'basic') {
      if (!this.basicHeader()) throw new RegistryError(`${this.endpoint.host} needs a user name and password: put them in images.registry (http://user:pass@host/ns) or TRAINYARD_REGISTRY_USERNAME/PASSWORD`, 401, 'UNAUTHORIZED');
      this.basic = true;
      return;
    }
    if (ch.scheme !== 'bearer' || !ch.params.realm) throw new RegistryError(`${this.endpoint.host} asks for unsupported authentication "${header}"`, 401, 'UNAUTHORIZED');
    // concurrent requests of one scope share one token fetch
    const key = scopes.join(' ');
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = this.fetchToken(ch, scopes).finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    await pending;
  }

  private async fetchToken(ch: Challenge, scopes: string[]): Promise<void> {
    const url = new URL(ch.params.realm);
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    const all = new Set(scopes);
    if (ch.params.scope) for (const s of ch.params.scope.split(' ')) all.add(s);
    for (const s of all) url.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    const basic = this.basicHeader();
    if (basic) headers.authorization = basic;
    this.stats.tokenFetches++;
    const res = await this.fetchRetrying(url.toString(), { method: 'GET', headers });
    if (!res.ok) throw new RegistryError(`the token service ${url.origin}${url.pathname} of ${this.endpoint.host} refused: ${res.status} ${res.text().slice(0, 200)}`, res.status, 'DENIED');
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = res.json() as typeof body;
    } catch {
      throw new RegistryError(`the token service of ${this.endpoint.host} answered something other than JSON: ${res.text().slice(0, 200)}`, res.status, 'DENIED');
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`the token service of ${this.endpoint.host} answered without a token`, res.status, 'DENIED');
    const ttl = Math.max(10, (body.expires_in ?? 60) - 10) * 1000;
    this.tokens.set(scopes.join(' '), { token, until: Date.now() + ttl });
  }

  /** a request with retries on 429/5xx/dropped connections (the body must be replayable); GET and HEAD follow redirects */
  private async fetchRetrying(url: string, init: { method: string; headers: Record<string, string>; body?: Buffer | (() => Readable) }, noRetry = false): Promise<RegistryAnswer> {
    const retries = noRetry ? 0 : (this.opts.retries ?? 5);
    let delay = this.opts.backoffMs ?? 200;
    for (let attempt = 0; ; attempt++) {
      let res: RegistryAnswer | null = null;
      let error: unknown = null;
      this.stats.requests++;
      try {
        res = await this.send(url, init);
      } catch (err) {
        if (!isTransient(err)) throw err;
        error = err;
      }
      const retryable = error !== null || (res !== null && (res.status === 429 || res.status >= 500));
      if (!retryable) return res!;
      if (attempt >= retries) {
        if (res) return res;
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new RegistryError(`${init.method} ${url}: ${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''} after ${attempt + 1} attempts`, null, 'UNREACHABLE');
      }
      let wait = delay * (0.5 + Math.random());
      const ra = res?.headers.get('retry-after');
      if (ra && /^\d+$/.test(ra)) wait = Math.max(wait, Math.min(Number(ra) * 1000, 10_000));
      this.stats.retries++;
      await sleep(Math.min(wait, 5000));
      delay = Math.min(delay * 2, 5000);
    }
  }

  /** one attempt: the request, and for GET and HEAD its redirects (following) */
  private async send(url: string, init: { method: string; headers: Record<string, string>; body?: Buffer | (() => Readable) }): Promise<RegistryAnswer> {
    const { res, url: from } =
      init.method === 'GET' || init.method === 'HEAD'
        ? await this.following(url, init.method, init.headers)
        : { res: await nodeRequest(url, init.method, init.headers, typeof init.body === 'function' ? init.body() : init.body, this.timeoutMs), url };
    return readAnswer(res, `${init.method} ${new URL(from).pathname}`, this.endpoint.host);
  }

  /**
   * A GET or HEAD and the redirects it is answered with (at most MAX_HOPS): the first answer that
   * is not one, and the URL it came from. A redirect to another host goes without the
   * authorization (a registry may send blobs from storage elsewhere).
   */
  private async following(url: string, method: string, headers: Record<string, string>): Promise<{ res: IncomingMessage; url: string }> {
    const host = new URL(url).host;
    const { authorization: _auth, ...elsewhere } = headers;
    for (let hops = 0; ; hops++) {
      const res = await nodeRequest(url, method, new URL(url).host === host ? headers : elsewhere, undefined, this.timeoutMs);
      if (!REDIRECTS.includes(res.statusCode ?? 0) || !res.headers.location) return { res, url };
      res.resume();
      if (hops >= MAX_HOPS) throw new RegistryError(`${method} ${new URL(url).pathname}: more than ${MAX_HOPS} redirects from ${this.endpoint.host}`, res.statusCode ?? null);
      url = new URL(res.headers.location, url).toString();
    }
  }

  /** a request to `path` (absolute URL or /v2/…) with auth and retries; throws RegistryError on a non-ok status */
  async request(path: string, req: RequestInit2): Promise<RegistryAnswer> {
    const url = /^https?:\/\//.test(path) ? path : `${this.endpoint.baseUrl}${path}`;
    const method = req.method ?? 'GET';
    for (let round = 0; ; round++) {
      const headers: Record<string, string> = { ...(req.headers ?? {}) };
      const auth = this.authFor(req.scopes);
      if (auth) headers.authorization = auth;
      const res = await this.fetchRetrying(url, { method, headers, body: req.body }, req.noRetry);
      if (res.status === 401 && round === 0) {
        const challenge = res.headers.get('www-authenticate');
        // another request may have got a token meanwhile: use it rather than fetching one more
        const now = this.authFor(req.scopes);
        if (!(now && now !== auth)) await this.answerChallenge(challenge, req.scopes);
        continue;
      }
      if (res.ok || req.ok?.includes(res.status)) return res;
      throw errorOf(res, `${method} ${new URL(url).pathname}`, this.endpoint.host);
    }
  }

  /**
   * GET `path` and answer its body as the socket's stream (a blob), with request()'s auth and
   * retries (until the body starts), following redirects (a registry may send blobs from
   * storage elsewhere: the credentials go to the registry's own host only).
   */
  async openStream(path: string, req: { scopes: string[]; headers?: Record<string, string> }): Promise<Readable> {
    let url = /^https?:\/\//.test(path) ? path : `${this.endpoint.baseUrl}${path}`;
    const retries = this.opts.retries ?? 5;
    let delay = this.opts.backoffMs ?? 200;
    let challenged = false;
    for (let attempt = 0; ; ) {
      const headers: Record<string, string> = { ...(req.headers ?? {}) };
      const auth = new URL(url).host === new URL(this.endpoint.baseUrl).host ? this.authFor(req.scopes) : null;
      if (auth) headers.authorization = auth;
      this.stats.requests++;
      let res: IncomingMessage | null = null;
      let error: unknown = null;
      try {
        ({ res, url } = await this.following(url, 'GET', headers));
      } catch (err) {
        if (!isTransient(err)) throw err;
        error = err;
      }
      const status = res?.statusCode ?? 0;
      if (res && status >= 200 && status < 300) return res;
      if (res && status === 401 && !challenged) {
        const challenge = res.headers['www-authenticate'] ?? null;
        res.resume();
        challenged = true;
        const now = this.authFor(req.scopes);
        if (!(now && now !== auth)) await this.answerChallenge(Array.isArray(challenge) ? challenge[0] : challenge, req.scopes);
        continue;
      }
      const retryable = error !== null || status === 429 || status >= 500;
      if (!retryable || attempt >= retries) {
        const what = `GET ${new URL(url).pathname}`;
        if (res) throw errorOf(await readAnswer(res, what, this.endpoint.host), what, this.endpoint.host);
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new RegistryError(`GET ${url}: ${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''} after ${attempt + 1} attempts`, null, 'UNREACHABLE');
      }
      res?.resume();
      this.stats.retries++;
      attempt++;
      await sleep(Math.min(delay * (0.5 + Math.random()), 5000));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/**
 * One request on node:http(s), answered with its head and its body as the socket's stream. A
 * Buffer body is sent as is (fetch would copy it twice); a stream body with backpressure (fetch
 * keeps every chunk of a streamed body until the answer: a 500 MB upload would hold 500 MB).
 * No redirects (send and openStream follow them). `timeoutMs`: the socket's idle limit, also while the answer is read.
 */
function nodeRequest(url: string, method: string, headers: Record<string, string>, body: Buffer | Readable | undefined, timeoutMs: number): Promise<IncomingMessage> {
  const u = new URL(url);
  const send = requestFor(u);
  const head = Buffer.isBuffer(body) && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length') ? { ...headers, 'content-length': String(body.length) } : headers;
  return new Promise((resolve, reject) => {
    const req = send(u, { method, headers: head, timeout: timeoutMs }, resolve);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`${method} ${u.pathname}: no answer in ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      pipeline(body, req).catch((err: Error) => {
        body.destroy();
        req.destroy(err);
        reject(err);
      });
    }
  });
}

/** an answer read whole (registry answers other than blobs are small; one over MAX_ANSWER is an error) */
function readAnswer(res: IncomingMessage, what: string, host: string): Promise<RegistryAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const status = res.statusCode ?? 502;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ANSWER) {
        res.destroy();
        reject(new RegistryError(`registry ${host}: ${what} answered ${status} with more than ${MAX_ANSWER >> 20} MiB`, status));
      } else chunks.push(c);
    });
    res.on('error', reject);
    res.on('end', () => {
      const bytes = Buffer.concat(chunks, size);
      resolve({
        status,
        ok: status >= 200 && status < 300,
        headers: { get: (name: string) => headerOf(res.headers, name) },
        bytes,
        text: () => bytes.toString('utf8'),
        json: () => JSON.parse(bytes.toString('utf8')) as unknown,
      });
    });
  });
}

function errorOf(res: RegistryAnswer, what: string, host: string): RegistryError {
  let detail = '';
  let code: string | null = null;
  const text = res.text();
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string; detail?: unknown }> };
    const e = body.errors?.[0];
    if (e) {
      code = e.code ?? null;
      detail = `${e.code ?? ''}: ${e.message ?? ''}${e.detail ? ` ${JSON.stringify(e.detail).slice(0, 300)}` : ''}`;
    }
  } catch {
    detail = text.slice(0, 300);
  }
  const hint = res.status === 401 || res.status === 403 ? ' (check the registry credentials and their push/pull rights)' : '';
  return new RegistryError(`registry ${host}: ${what} answered ${res.status}${detail ? ` ${detail}` : ''}${hint}`, res.status, code);
}
