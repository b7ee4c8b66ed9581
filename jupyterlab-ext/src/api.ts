/**
 * The browser's only way out: ServerConnection.makeRequest to our own Jupyter server
 * (same origin, Jupyter auth + XSRF, any base_url). JupyterClient implements the shared
 * UiClient over /trainyard/api/* (the server extension forwards to the backend, adding the
 * token), streams SSE/NDJSON with fetch bodies, and reaches /trainyard/save and
 * /trainyard/workspace (the server-side save client). Every failure is an ApiError
 * with words, never an HTML page.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ApiError } from '../../shared/src/client';
import { ndjson, sseEvents } from '../../shared/src/streams';
import { allMetricPages, allPages, MAX_PAGE, MAX_POINTS_PAGE, type PageOf } from '../../shared/src/pages';
import { isArtifactPath } from '../../shared/src/artifact-path';
import type { UiClient } from '../../shared/src/ui/context';
import type { TrainyardEvent } from '../../shared/src/schemas/events';
import type { LogLine } from '../../shared/src/schemas/runs';
import type { Model, Version } from '../../shared/src/schemas/models';
import type { Schedule } from '../../shared/src/schemas/schedules';
import type { SaveEvent, SaveRequest, WorkspacePreview } from './save/types';

type Query = Record<string, string | number | boolean | undefined | null> | object;

function qs(query?: Query): string {
  if (!query) return '';
  const parts = Object.entries(query).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

const enc = encodeURIComponent;

/** turns a non-OK response into an ApiError: the backend's {error}, our extension's, or Jupyter's {message} */
async function toError(res: Response, what: string): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: { error?: { code?: string; message?: string; details?: unknown }; message?: string; reason?: string } | null = null;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  if (body?.error?.message) return new ApiError(res.status, (body.error.code ?? 'internal') as ApiError['code'], body.error.message, body.error.details);
  if (res.status === 403) return new ApiError(403, 'forbidden' as ApiError['code'], 'The Jupyter server refused the request (403): reload the page or sign in to Jupyter again');
  if (res.status === 404) return new ApiError(404, 'not_found', `${what}: not found (is the trainyard-jupyterlab server extension enabled? \`jupyter server extension list\`)`);
  const msg = body?.message ?? (/<html/i.test(text) ? `HTTP ${res.status}` : text.slice(0, 300) || `HTTP ${res.status}`);
  return new ApiError(res.status, 'internal', `${what}: ${msg}`);
}

export class JupyterClient implements UiClient {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  url(path: string, query?: Query): string {
    return URLExt.join(this.settings.baseUrl, path) + qs(query);
  }

  async request(path: string, init: RequestInit = {}, query?: Query): Promise<Response> {
    let res: Response;
    try {
      // 'no-cache' (revalidate) instead of the default 'no-store', which appends a bare cache-buster
      // parameter (`&1712345678`) that the backend's strict query schemas refuse
      res = await ServerConnection.makeRequest(this.url(path, query), { cache: 'no-cache', ...init }, this.settings);
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(0, 'unavailable', `cannot reach the Jupyter server: ${(err as Error).message}`);
    }
    if (!res.ok) throw await toError(res, path.replace(/^trainyard\/api\//, '/'));
    return res;
  }

  private async call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const res = await this.request(`trainyard/api/${path}`, init, query);
    return (await res.json()) as T;
  }

  // lists come in pages: these read every page, as the API client does
  listModels: UiClient['listModels'] = async () => ({ items: await allPages((cursor) => this.call<PageOf<Model>>('GET', 'v1/models', undefined, { limit: MAX_PAGE, cursor })) });
  listVersions: UiClient['listVersions'] = async (model) => ({
    items: await allPages((cursor) => this.call<PageOf<Version>>('GET', `v1/models/${enc(model)}/versions`, undefined, { limit: MAX_PAGE, cursor })),
  });
  getVersion: UiClient['getVersion'] = (model, version) => this.call('GET', `v1/models/${enc(model)}/versions/${enc(version)}`);
  listHardware: UiClient['listHardware'] = () => this.call('GET', 'v1/hardware');
  estimate: UiClient['estimate'] = (body) => this.call('POST', 'v1/runs/estimate', body);
  launch: UiClient['launch'] = (body) => this.call('POST', 'v1/runs', body);
  listRuns: UiClient['listRuns'] = (query = {}) => this.call('GET', 'v1/runs', undefined, query);
  getRun: UiClient['getRun'] = (id) => this.call('GET', `v1/runs/${enc(id)}`);
  cancelRun: UiClient['cancelRun'] = (id) => this.call('POST', `v1/runs/${enc(id)}/cancel`, {});
  getLogs: UiClient['getLogs'] = (id, query = {}) => this.call('GET', `v1/runs/${enc(id)}/logs`, undefined, query);
  getMetrics: UiClient['getMetrics'] = (id) => allMetricPages((cursor) => this.call('GET', `v1/runs/${enc(id)}/metrics`, undefined, { limit: MAX_POINTS_PAGE, cursor }));
  listSchedules: UiClient['listSchedules'] = async () => ({ items: await allPages((cursor) => this.call<PageOf<Schedule>>('GET', 'v1/schedules', undefined, { limit: MAX_PAGE, cursor })) });
  deleteSchedule: UiClient['deleteSchedule'] = (id) => this.call('DELETE', `v1/schedules/${enc(id)}`);
  getCosts: UiClient['getCosts'] = (query = {}) => this.call('GET', 'v1/costs', undefined, query);
  me: NonNullable<UiClient['me']> = () => this.call('GET', 'v1/me');
  health = () => this.call<{ ok: boolean; version: string }>('GET', 'healthz');
  listArtifacts: UiClient['listArtifacts'] = (id) => this.call('GET', `v1/runs/${enc(id)}/artifacts`);

  /** one artifact file's bytes, streamed through the forwarding handler (Jupyter's session, never a token in the URL) */
  async downloadArtifact(id: string, path: string, signal?: AbortSignal): Promise<Response> {
    if (!isArtifactPath(path)) throw new ApiError(400, 'invalid_request', `artifact path "${path}" is not a run-relative path`);
    return this.request(`trainyard/api/v1/runs/${enc(id)}/artifacts/${path.split('/').map(enc).join('/')}`, { signal });
  }

  /** server-sent events through the forwarding handler */
  async *events(opts: { signal?: AbortSignal; onOpen?: () => void } = {}): AsyncGenerator<TrainyardEvent> {
    const res = await this.request('trainyard/api/v1/events', { signal: opts.signal, headers: { Accept: 'text/event-stream' } });
    opts.onOpen?.();
    yield* sseEvents(res);
  }

  async *followLogs(id: string, opts: { after?: number; signal?: AbortSignal } = {}): AsyncGenerator<LogLine> {
    const res = await this.request(`trainyard/api/v1/runs/${enc(id)}/logs`, { signal: opts.signal }, { follow: 1, after: opts.after ?? -1 });
    yield* ndjson<LogLine>(res);
  }

  /** the remembered answers and a preview of what would ship */
  async workspace(notebook: string, signal?: AbortSignal): Promise<WorkspacePreview> {
    const res = await this.request('trainyard/workspace', { signal }, { notebook });
    for await (const e of ndjson<SaveEvent>(res)) {
      if (e.type === 'workspace') return e;
      if (e.type === 'error') throw new ApiError(0, 'internal', e.message);
    }
    throw new ApiError(0, 'internal', 'the workspace preview ended without an answer');
  }

  /** runs a save on the Jupyter server; yields its events */
  async *save(req: SaveRequest, signal?: AbortSignal): AsyncGenerator<SaveEvent> {
    const res = await this.request('trainyard/save', { method: 'POST', body: JSON.stringify(req), signal, headers: { 'Content-Type': 'application/json' } });
    yield* ndjson<SaveEvent>(res);
  }
}

