/**
 * The one API client: a method per endpoint, every failure an ApiError with
 * the server's {code, message} (or `unavailable` when the backend cannot be reached).
 * Used by the CLI, the dashboard and both editor extensions.
 */
import axios, { AxiosError, type AxiosInstance } from 'axios';
import type { CreateModel, Model, Version, VersionFile } from './schemas/models';
import type { CreateSnapshot, Snapshot } from './schemas/snapshots';
import type { HardwareWithAvailability } from './schemas/hardware';
import type { LaunchRequest, Estimate } from './schemas/launch';
import type { LaunchResult } from './schemas/launch-result';
import type { LogLine, LogPage, MetricList, Run, RunPage, RunQuery } from './schemas/runs';
import type { Schedule } from './schemas/schedules';
import type { CostQuery, CostSummary } from './schemas/costs';
import type { CreatedToken, CreateToken, Me, TokenInfo } from './schemas/tokens';
import type { ErrorBody, ErrorCode } from './schemas/common';
import type { TrainyardEvent } from './schemas/events';
import { ndjson, sseEvents } from './streams';

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
  timeoutMs?: number;
}

type FetchLike = typeof fetch;

export class TrainyardClient {
  readonly baseUrl: string;
  private readonly http: AxiosInstance;
  private readonly token: string | undefined;

  constructor(opts: ClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? DEFAULT_URL).replace(/\/+$/, '');
    this.token = opts.token;
    this.http = axios.create({
      baseURL: this.baseUrl,
      timeout: opts.timeoutMs ?? 30000,
      headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
    });
  }

  private async call<T>(method: 'get' | 'post' | 'put' | 'delete', url: string, body?: unknown, params?: object, headers?: Record<string, string>): Promise<T> {
    try {
      const res = await this.http.request<T>({ method, url, data: body, params, headers });
      return res.data;
    } catch (err) {
      throw toApiError(err, this.baseUrl);
    }
  }

  health() { return this.call<{ ok: boolean; version: string }>('get', '/healthz'); }

  listModels() { return this.call<{ items: Model[] }>('get', '/v1/models'); }
  getModel(name: string) { return this.call<Model>('get', `/v1/models/${enc(name)}`); }
  createModel(body: CreateModel) { return this.call<Model>('post', '/v1/models', body); }
  listVersions(model: string) { return this.call<{ items: Version[] }>('get', `/v1/models/${enc(model)}/versions`); }
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
    try {
      const res = await this.http.request<ArrayBuffer>({ method: 'get', url, responseType: 'arraybuffer' });
      return new Uint8Array(res.data);
    } catch (err) {
      const ax = err as AxiosError;
      const data = ax?.isAxiosError ? ax.response?.data : undefined;
      if (ax.response && (data instanceof ArrayBuffer || ArrayBuffer.isView(data))) {
        try {
          ax.response.data = JSON.parse(new TextDecoder().decode(data as ArrayBuffer));
        } catch {
          /* not JSON: toApiError reports the status */
        }
      }
      throw toApiError(err, this.baseUrl);
    }
  }

  createSnapshot(body: CreateSnapshot) { return this.call<Snapshot>('post', '/v1/snapshots', body); }
  getSnapshot(id: string) { return this.call<Snapshot>('get', `/v1/snapshots/${enc(id)}`); }
  putBlob(sha256: string, data: Uint8Array) {
    return this.call<{ sha256: string; size: number }>('put', `/v1/blobs/${enc(sha256)}`, data, undefined, {
      'Content-Type': 'application/octet-stream',
    });
  }
  buildSnapshot(id: string) { return this.call<Version>('post', `/v1/snapshots/${enc(id)}/build`, {}); }

  listHardware() { return this.call<{ items: HardwareWithAvailability[] }>('get', '/v1/hardware'); }

  estimate(body: LaunchRequest) { return this.call<Estimate>('post', '/v1/runs/estimate', body); }
  launch(body: LaunchRequest) { return this.call<LaunchResult>('post', '/v1/runs', body); }
  listRuns(query: RunQuery = {}) { return this.call<RunPage>('get', '/v1/runs', undefined, query); }
  getRun(id: string) { return this.call<Run>('get', `/v1/runs/${enc(id)}`); }
  cancelRun(id: string) { return this.call<Run>('post', `/v1/runs/${enc(id)}/cancel`, {}); }
  getLogs(id: string, query: { after?: number; limit?: number } = {}) {
    return this.call<LogPage>('get', `/v1/runs/${enc(id)}/logs`, undefined, query);
  }
  getMetrics(id: string) { return this.call<MetricList>('get', `/v1/runs/${enc(id)}/metrics`); }

  listSchedules() { return this.call<{ items: Schedule[] }>('get', '/v1/schedules'); }
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

  private async stream(url: string, signal?: AbortSignal, fetchImpl: FetchLike = fetch): Promise<Response> {
    let res: Response;
    try {
      res = await fetchImpl(url, { headers: this.token ? { Authorization: `Bearer ${this.token}` } : {}, signal });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(0, 'unavailable', `cannot reach the Trainyard backend at ${this.baseUrl}: ${(err as Error).message}`);
    }
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => null)) as ErrorBody | null;
      throw new ApiError(res.status, body?.error?.code ?? 'internal', body?.error?.message ?? `HTTP ${res.status}`);
    }
    return res;
  }
}

const enc = encodeURIComponent;

export function toApiError(err: unknown, baseUrl: string): ApiError {
  if (err instanceof ApiError) return err;
  const ax = err as AxiosError<ErrorBody>;
  if (ax?.isAxiosError) {
    const body = ax.response?.data;
    if (ax.response && body && typeof body === 'object' && body.error) {
      return new ApiError(ax.response.status, body.error.code, body.error.message, body.error.details);
    }
    if (ax.response) return new ApiError(ax.response.status, 'internal', `HTTP ${ax.response.status} from ${baseUrl}`);
    return new ApiError(0, 'unavailable', `cannot reach the Trainyard backend at ${baseUrl} (${ax.code ?? ax.message}); start it with \`trainyard serve\``);
  }
  return new ApiError(0, 'internal', (err as Error)?.message ?? String(err));
}
