/**
 * The one module that owns the KubeConfig: loads it (a file, or in-cluster / default
 * discovery), makes the typed API clients, and wraps every request in `call()`, which
 * retries what is worth retrying (429 honouring Retry-After, 5xx, connection errors) with
 * capped exponential backoff and jitter, and turns everything else into a KubeError with
 * the API server's message (never a raw client exception).
 */
import { BatchV1Api, CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';

export interface KubeClients {
  kc: KubeConfig;
  batch: BatchV1Api;
  core: CoreV1Api;
  watch: Watch;
}

export function loadKube(kubeconfig: string | null): KubeClients {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return { kc, batch: kc.makeApiClient(BatchV1Api), core: kc.makeApiClient(CoreV1Api), watch: new Watch(kc) };
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
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const e = toKubeError(err);
      if (!isRetryable(e) || attempt + 1 >= attempts || opts.signal?.aborted) throw e;
      const delay = Math.min(opts.maxMs ?? 5000, e.retryAfterMs ?? backoffDelay(attempt, opts.initialMs ?? 200, opts.maxMs ?? 5000));
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
