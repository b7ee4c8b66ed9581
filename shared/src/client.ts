/**
 * The one API client: a method per endpoint, every failure an ApiError with
 * the server's {code, message} (or `unavailable` when the backend cannot be reached or does
 * not answer in time). Used by the CLI, the dashboard and both editor extensions. It speaks
 * fetch(): the platform's by default, or one given (the CLI gives one over node:http, which
 * starts faster than Node's built-in fetch).
 */
import type { CreateModel, Model, Version, VersionFile } from './schemas/models';
import type { BaseImageInfo, BuildQuery, CreateSnapshotRequest, LocalFiles, Snapshot } from './schemas/snapshots';
import { isLoopbackHost } from './loopback';
import type { HardwareWithAvailability } from './schemas/hardware';
import type { LaunchRequest, Estimate } from './schemas/launch';
import type { LaunchResult } from './schemas/launch-result';
import type { LogLine, LogPage, MetricList, MetricQuery, Run, RunPage, RunQuery } from './schemas/runs';
import type { Schedule } from './schemas/schedules';
import type { ArtifactList } from './schemas/artifacts';
import { isArtifactPath } from './artifact-path';
import { ERROR_STATUS } from './error-status';
import type { CostQuery, CostSummary } from './schemas/costs';
import type { CreatedToken, CreateToken, Me, TokenInfo } from './schemas/tokens';
import type { ErrorBody, ErrorCode } from './schemas/common';
import type { TrainyardEvent } from './schemas/events';
import { ndjson, sseEvents } from './streams';
import { allMetricPages, allPages, MAX_PAGE, MAX_POINTS_PAGE, type PageOf, type PageQuery } from './pages';

export const DEFAULT_URL = 'http://127.0.0.1:7878';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  baseUrl?: string;
  token?: string;
  /** how long a request (not a stream) may take, answer included; default 30 s */
  timeoutMs?: number;
  /** the fetch to use; default the platform's */
  fetch?: FetchLike;
}

type FetchLike = typeof fetch;
type Method = 'get' | 'post' | 'put' | 'delete';

export class TrainyardClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: FetchLike;

  constructor(opts: ClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? DEFAULT_URL).replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 30000;
    // looked up at call time (browsers refuse a detached window.fetch; tests may replace the global)
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  private auth(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  /** one request within the timeout; the answer is read with `read` (also within it); a non-2xx answer is its ApiError */
  private async request<T>(method: Method, path: string, read: (res: Response) => Promise<T>, opts: { body?: unknown; query?: object; headers?: Record<string, string> } = {}): Promise<T> {
    const bytes = opts.body instanceof Uint8Array;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const what = `${method.toUpperCase()} ${path}`;
    const timedOut = () => new ApiError(0, 'unavailable', `the Trainyard backend at ${this.baseUrl} did not answer ${what} within ${this.timeoutMs / 1000} s`);
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}${queryString(opts.query)}`, {
        method: method.toUpperCase(),
        headers: { ...(opts.body === undefined || bytes ? {} : { 'Content-Type': 'application/json' }), ...opts.headers, ...this.auth() },
        body: opts.body === undefined ? undefined : bytes ? (opts.body as Uint8Array<ArrayBuffer>) : JSON.stringify(opts.body),
        signal,
      });
    } catch (err) {
      throw signal.aborted ? timedOut() : toApiError(err, this.baseUrl);
    }
    if (!res.ok) throw await errorOf(res, this.baseUrl);
    try {
      return await read(res);
    } catch (err) {
      if (signal.aborted) throw timedOut();
      throw new ApiError(res.status, 'internal', `cannot read the answer to ${what} from ${this.baseUrl}: ${(err as Error).message}`);
    }
  }

  private call<T>(method: Method, path: string, body?: unknown, query?: object, headers?: Record<string, string>): Promise<T> {
    return this.request(method, path, (res) => res.json() as Promise<T>, { body, query, headers });
  }

  health() { return this.call<{ ok: boolean; version: string }>('get', '/healthz'); }

  /** every model, page after page */
  async listModels(): Promise<{ items: Model[] }> { return { items: await allPages((cursor) => this.listModelsPage({ limit: MAX_PAGE, cursor })) }; }
  listModelsPage(query: PageQuery = {}) { return this.call<PageOf<Model>>('get', '/v1/models', undefined, query); }
  getModel(name: string) { return this.call<Model>('get', `/v1/models/${enc(name)}`); }
  createModel(body: CreateModel) { return this.call<Model>('post', '/v1/models', body); }
  /** every version of a model, newest first, page after page */
  async listVersions(model: string): Promise<{ items: Version[] }> { return { items: await allPages((cursor) => this.listVersionsPage(model, { limit: MAX_PAGE, cursor })) }; }
  listVersionsPage(model: string, query: PageQuery = {}) { return this.call<PageOf<Version>>('get', `/v1/models/${enc(model)}/versions`, undefined, query); }
  getVersion(model: string, version: string) {
    return this.call<Version>('get', `/v1/models/${enc(model)}/versions/${enc(version)}`);
  }

  /** a version's files (its code under /app), sorted by path */
  listVersionFiles(model: string, version: string) {
    return this.call<{ items: VersionFile[] }>('get', `/v1/models/${enc(model)}/versions/${enc(version)}/files`);
  }
  /** one file of a version, as raw bytes (path is workspace-relative, "/"-separated) */
  async readVersionFile(model: string, version: string, path: string): Promise<Uint8Array> {
    // URL normalization would quietly turn a/../b into b, so such a path is refused here (the server refuses it too)
    if (path === '' || path.startsWith('/') || path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw new ApiError(400, 'invalid_request', `file path "${path}" is not a workspace-relative path (like src/train.py: no "..", no leading or doubled "/")`);
    }
    const url = `/v1/models/${enc(model)}/versions/${enc(version)}/files/${path.split('/').map(enc).join('/')}`;
    return this.request('get', url, async (res) => new Uint8Array(await res.arrayBuffer()));
  }

  /**
   * whether the backend is on this machine, by its URL (a loopback host): a save then offers where
   * its files are (CreateSnapshotRequest.localFiles) so the backend reads them in place
   */
  get onThisMachine(): boolean {
    try {
      return isLoopbackHost(new URL(this.baseUrl).hostname);
    } catch {
      return false;
    }
  }

  createSnapshot(body: CreateSnapshotRequest) { return this.call<Snapshot>('post', '/v1/snapshots', body); }
  /** resolves a base image and reads its Python (the backend remembers the answer by the base's layers) */
  inspectBaseImage(baseImage: string) { return this.call<BaseImageInfo>('post', '/v1/base-images/inspect', { baseImage }); }
  getSnapshot(id: string) { return this.call<Snapshot>('get', `/v1/snapshots/${enc(id)}`); }
  /** the local fast path (Snapshot.localFiles): the backend reads these files in place, if they hash to their sha256 */
  useLocalFiles(id: string, files: LocalFiles['files']) { return this.call<Snapshot>('post', `/v1/snapshots/${enc(id)}/local-files`, { files }); }
  putBlob(sha256: string, data: Uint8Array) {
    return this.call<{ sha256: string; size: number }>('put', `/v1/blobs/${enc(sha256)}`, data, undefined, {
      'Content-Type': 'application/octet-stream',
    });
  }
  /**
   * starts the build: the snapshot, building (202), or built (200); see buildSnapshot to wait for the
   * version. With `wait` (seconds, at most 60), the answer waits that long for the build to end.
   */
  startBuild(id: string, query: BuildQuery = {}) { return this.call<Snapshot>('post', `/v1/snapshots/${enc(id)}/build`, {}, query); }
  /**
   * Builds and waits: starts the build, then reads the snapshot until it is built (the version is
   * returned) or failed (an ApiError with its message and kind). The start's answer waits for the
   * build's end for half the request timeout (at most 20 s: ?wait), so a short build is answered
   * the moment it ends; a longer one is read every 100 ms to 1 s after, each request short, so it
   * never meets a request timeout. `wait` replaces the pause between reads (saveWorkspace's ends it
   * early when a `snapshot` event says the build ended).
   */
  async buildSnapshot(id: string, opts: { signal?: AbortSignal; wait?: (ms: number) => Promise<void> } = {}): Promise<Version> {
    const wait = opts.wait ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const waitSeconds = Math.min(20, Math.floor(this.timeoutMs / 2000));
    let snap = await this.startBuild(id, waitSeconds > 0 ? { wait: waitSeconds } : {});
    for (let delay = 100; snap.status === 'building' || snap.status === 'uploading'; delay = Math.min(1000, delay * 2)) {
      await wait(delay);
      opts.signal?.throwIfAborted();
      snap = await this.getSnapshot(id);
    }
    if (snap.status === 'failed') {
      const code = snap.errorCode ?? 'internal';
      throw new ApiError(ERROR_STATUS[code], code, snap.error ?? `the build of snapshot ${id} failed`);
    }
    return this.getVersion(snap.model, snap.version!);
  }

  listHardware() { return this.call<{ items: HardwareWithAvailability[] }>('get', '/v1/hardware'); }

  estimate(body: LaunchRequest) { return this.call<Estimate>('post', '/v1/runs/estimate', body); }
  launch(body: LaunchRequest) { return this.call<LaunchResult>('post', '/v1/runs', body); }
  listRuns(query: RunQuery = {}) { return this.call<RunPage>('get', '/v1/runs', undefined, query); }
  getRun(id: string) { return this.call<Run>('get', `/v1/runs/${enc(id)}`); }
  cancelRun(id: string) { return this.call<Run>('post', `/v1/runs/${enc(id)}/cancel`, {}); }
  getLogs(id: string, query: { after?: number; limit?: number } = {}) {
    return this.call<LogPage>('get', `/v1/runs/${enc(id)}/logs`, undefined, query);
  }
  /** every metric point of a run, page after page, one series per name */
  getMetrics(id: string) { return allMetricPages((cursor) => this.getMetricsPage(id, { limit: MAX_POINTS_PAGE, cursor })); }
  getMetricsPage(id: string, query: MetricQuery = {}) { return this.call<MetricList>('get', `/v1/runs/${enc(id)}/metrics`, undefined, query); }
  /** the files a run left in its output directory, once it has ended */
  listArtifacts(id: string) { return this.call<ArtifactList>('get', `/v1/runs/${enc(id)}/artifacts`); }
  /**
   * One artifact's bytes as a streaming Response (the token rides in a header, never in the URL).
   * `range` asks for bytes start..end (inclusive), answered 206.
   */
  async downloadArtifact(id: string, path: string, opts: { signal?: AbortSignal; fetchImpl?: FetchLike; range?: { start: number; end?: number } } = {}): Promise<Response> {
    if (!isArtifactPath(path)) throw new ApiError(400, 'invalid_request', `artifact path "${path}" is not a run-relative path (like model/weights.bin: no "..", no leading or doubled "/")`);
    const url = `${this.baseUrl}/v1/runs/${enc(id)}/artifacts/${path.split('/').map(enc).join('/')}`;
    const range = opts.range ? { Range: `bytes=${opts.range.start}-${opts.range.end ?? ''}` } : undefined;
    return this.stream(url, opts.signal, opts.fetchImpl, range);
  }

  /** every schedule, page after page */
  async listSchedules(): Promise<{ items: Schedule[] }> { return { items: await allPages((cursor) => this.listSchedulesPage({ limit: MAX_PAGE, cursor })) }; }
  listSchedulesPage(query: PageQuery = {}) { return this.call<PageOf<Schedule>>('get', '/v1/schedules', undefined, query); }
  deleteSchedule(id: string) { return this.call<{ id: string; deleted: true }>('delete', `/v1/schedules/${enc(id)}`); }

  getCosts(query: CostQuery = {}) { return this.call<CostSummary>('get', '/v1/costs', undefined, query); }

  /** who this client's token belongs to */
  me() { return this.call<Me>('get', '/v1/me'); }
  /** admin only; the answer's `token` is the secret, shown this once */
  createToken(body: CreateToken) { return this.call<CreatedToken>('post', '/v1/tokens', body); }
  listTokens() { return this.call<{ items: TokenInfo[] }>('get', '/v1/tokens'); }
  revokeToken(id: string) { return this.call<TokenInfo>('delete', `/v1/tokens/${enc(id)}`); }

  /** Follow a run's log: yields lines as they are written, ends when the run is final. */
  async *followLogs(id: string, opts: { after?: number; signal?: AbortSignal; fetchImpl?: FetchLike } = {}): AsyncGenerator<LogLine> {
    const url = `${this.baseUrl}/v1/runs/${enc(id)}/logs?follow=1&after=${opts.after ?? -1}`;
    yield* ndjson<LogLine>(await this.stream(url, opts.signal, opts.fetchImpl));
  }

  /** Subscribe to server-sent events; yields each event until the signal aborts. */
  async *events(opts: { signal?: AbortSignal; fetchImpl?: FetchLike; onOpen?: () => void } = {}): AsyncGenerator<TrainyardEvent> {
    const res = await this.stream(`${this.baseUrl}/v1/events`, opts.signal, opts.fetchImpl);
    opts.onOpen?.();
    yield* sseEvents(res);
  }

  /** a streaming answer (no timeout: it lasts as long as the caller wants, until `signal` aborts) */
  private async stream(url: string, signal?: AbortSignal, fetchImpl: FetchLike = this.fetchImpl, headers?: Record<string, string>): Promise<Response> {
    let res: Response;
    try {
      res = await fetchImpl(url, { headers: { ...headers, ...this.auth() }, signal });
    } catch (err) {
      if ((err as Error).name === 'AbortError' || signal?.aborted) throw err;
      throw toApiError(err, this.baseUrl);
    }
    if (!res.ok) throw await errorOf(res, this.baseUrl);
    if (!res.body) throw new ApiError(res.status, 'internal', `HTTP ${res.status} from ${this.baseUrl} without a body`);
    return res;
  }
}

const enc = encodeURIComponent;

/** a query object as `?a=1&b=x`: undefined and null values left out */
function queryString(query: object | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) q.append(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** a non-2xx answer as an ApiError: the server's {error: {code, message}}, or the bare status */
async function errorOf(res: Response, baseUrl: string): Promise<ApiError> {
  let body: ErrorBody | null = null;
  try {
    body = JSON.parse(await res.text()) as ErrorBody;
  } catch {
    /* not JSON: the status says it */
  }
  if (body && typeof body === 'object' && body.error) return new ApiError(res.status, body.error.code, body.error.message, body.error.details);
  return new ApiError(res.status, 'internal', `HTTP ${res.status} from ${baseUrl}`);
}

/** a failure before any answer: the backend cannot be reached */
export function toApiError(err: unknown, baseUrl: string): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  const why = e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return new ApiError(0, 'unavailable', `cannot reach the Trainyard backend at ${baseUrl} (${why}); start it with \`trainyard serve\``);
}
