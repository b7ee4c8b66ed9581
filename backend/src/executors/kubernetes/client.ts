/**
 * The one module that owns the KubeConfig: loads it (a file, or in-cluster / default
 * discovery), makes the typed API clients, and wraps every request in `call()`, which
 * retries what is worth retrying (429 honouring Retry-After, 5xx, connection errors,
 * timeouts) with capped exponential backoff and jitter, and turns everything else into a
 * KubeError with the API server's message (never a raw client exception).
 *
 * Every request of the typed clients is bounded: a request that has not answered (body
 * included) within requestTimeoutMs is aborted with a KubeError saying so, so a hung API
 * server cannot hang a launch, a cancel or a list; call() stops retrying once its deadline
 * has passed. Watches are long by nature: the Watch gives up after WATCH_SECONDS_MAX plus
 * requestTimeoutMs without a byte, and the informer then relists (informer.ts).
 */
import type { BatchV1Api, CoreV1Api, KubeConfig, Middleware, Watch } from '@kubernetes/client-node';

/**
 * @kubernetes/client-node, loaded when a Kubernetes executor is made (loadKube), not with this
 * module: a local server never loads it (~1,900 modules: a local server's heap after start is 40 MB, not 67).
 */
export type ClientLibrary = typeof import('@kubernetes/client-node');
let library: Promise<ClientLibrary> | undefined;
export const clientLibrary = (): Promise<ClientLibrary> => (library ??= import('@kubernetes/client-node'));

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** the longest a watch request asks the server to keep it open (informer.ts) */
export const WATCH_SECONDS_MAX = 30;

export interface KubeClients {
  /** the client library the clients were made with (pod-log-request.ts builds requests with it) */
  lib: ClientLibrary;
  kc: KubeConfig;
  batch: BatchV1Api;
  core: CoreV1Api;
  watch: Watch;
  /** the bound of one request (the typed clients enforce it; other requests use it too) */
  requestTimeoutMs: number;
}

export async function loadKube(kubeconfig: string | null, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<KubeClients> {
  const lib = await clientLibrary();
  const kc = new lib.KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kubeClients(lib, kc, requestTimeoutMs);
}

/** the typed clients of a KubeConfig, every request bounded by requestTimeoutMs */
export function kubeClients(lib: ClientLibrary, kc: KubeConfig, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): KubeClients {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig names no current cluster (set current-context)');
  const config = lib.createConfiguration({
    baseServer: new lib.ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [timeoutMiddleware(requestTimeoutMs)],
  });
  const watch = new lib.Watch(kc);
  // the client's inactivity bound of a watch (a private field, 30 s by default): past the server's own close
  (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_SECONDS_MAX * 1000 + requestTimeoutMs;
  return { lib, kc, batch: new lib.BatchV1Api(config), core: new lib.CoreV1Api(config), watch, requestTimeoutMs };
}

function timeoutMiddleware(ms: number): Middleware {
  return {
    pre: async (ctx) => {
      const ac = new AbortController();
      const path = new URL(ctx.getUrl()).pathname;
      const t = setTimeout(() => ac.abort(new KubeError(null, 'Timeout', `${ctx.getHttpMethod()} ${path}: no answer from the Kubernetes API server within ${ms / 1000} s`)), ms);
      t.unref();
      ctx.setSignal(ac.signal);
      return ctx;
    },
    post: async (res) => res,
  };
}

export class KubeError extends Error {
  constructor(
    readonly status: number | null,
    readonly reason: string,
    message: string,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

/** status code, reason and message out of whatever the client threw */
export function toKubeError(err: unknown): KubeError {
  if (err instanceof KubeError) return err;
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; headers?: Record<string, string>; message?: string };
  const status = typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : null;
  let reason = '';
  let message = e?.message ?? String(err);
  let body: unknown = e?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* not JSON */
    }
  }
  if (body && typeof body === 'object') {
    const b = body as { reason?: string; message?: string };
    if (b.reason) reason = b.reason;
    if (b.message) message = b.message;
  }
  const ra = e?.headers?.['retry-after'] ?? e?.headers?.['Retry-After'];
  const retryAfterMs = ra && /^\d+$/.test(ra) ? Number(ra) * 1000 : null;
  return new KubeError(status, reason, message.split('\n')[0].slice(0, 1000), retryAfterMs);
}

export function isRetryable(e: KubeError): boolean {
  if (e.status === null) return true; // connection refused/reset, timeouts
  return e.status === 429 || e.status >= 500;
}

export interface RetryOptions {
  attempts?: number;
  initialMs?: number;
  maxMs?: number;
  /** no retry starts after this long since the first attempt (each attempt is bounded by the request timeout) */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** told about each retry (for diagnostics and tests) */
  onRetry?: (e: KubeError, attempt: number, delayMs: number) => void;
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** attempt);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/** one API request, retried on 429 / 5xx / network errors */
export async function call<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 8;
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const e = toKubeError(err);
      if (!isRetryable(e) || attempt + 1 >= attempts || opts.signal?.aborted) throw e;
      const delay = Math.min(opts.maxMs ?? 5000, e.retryAfterMs ?? backoffDelay(attempt, opts.initialMs ?? 200, opts.maxMs ?? 5000));
      if (opts.deadlineMs !== undefined && Date.now() - started + delay > opts.deadlineMs) throw e;
      opts.onRetry?.(e, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}

/** create; on 409 AlreadyExists (an earlier attempt or backend got there) read and adopt; both through api (retries) */
export async function createOrAdopt<T>(api: <U>(fn: () => Promise<U>) => Promise<U>, create: () => Promise<T>, read: () => Promise<T>): Promise<T> {
  try {
    return await api(create);
  } catch (err) {
    if (err instanceof KubeError && err.status === 409) return api(read);
    throw err;
  }
}
