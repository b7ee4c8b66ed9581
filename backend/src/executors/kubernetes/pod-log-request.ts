/**
 * The pod log endpoint (GET .../pods/NAME/log, with timestamps): a plain read from a sinceTime with
 * limitBytes (the typed client, bounded like every request), and a `follow` stream read chunk by
 * chunk, which the typed client cannot do (it buffers the whole answer): the next chunk is pulled
 * only when the last one is handled (backpressure to the store), its headers must come within the
 * request timeout, and it is given up after idleMs without a byte (a hung API server, or a kubelet
 * that stopped following). Errors are KubeErrors.
 */
import type { RequestContext, ResponseContext } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';
import { KubeError, toKubeError, type KubeClients } from './client';
import { CONTAINER } from './manifests';

export interface PodLogQuery {
  namespace: string;
  pod: string;
  sinceTime?: string;
  limitBytes?: number;
}

function timeoutError(what: string, ms: number): KubeError {
  return new KubeError(null, 'Timeout', `${what}: no answer from the Kubernetes API server within ${Math.round(ms / 100) / 10} s`);
}

async function open(kube: KubeClients, q: PodLogQuery, follow: boolean, signal: AbortSignal) {
  const cluster = kube.kc.getCurrentCluster();
  if (!cluster) throw new KubeError(null, 'Config', 'the kubeconfig names no current cluster');
  const url = new URL(`${cluster.server}/api/v1/namespaces/${encodeURIComponent(q.namespace)}/pods/${encodeURIComponent(q.pod)}/log`);
  url.searchParams.set('container', CONTAINER);
  url.searchParams.set('timestamps', 'true');
  if (follow) url.searchParams.set('follow', 'true');
  if (q.sinceTime) url.searchParams.set('sinceTime', q.sinceTime);
  if (q.limitBytes) url.searchParams.set('limitBytes', String(q.limitBytes));
  const ctx = new kube.lib.RequestContext(url.toString(), kube.lib.HttpMethod.GET);
  await kube.kc.applySecurityAuthentication(ctx);
  const res = await fetch(url, { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() as Dispatcher | undefined, signal });
  if (res.status !== 200) {
    const text = await res.text().catch(() => '');
    let reason = '';
    let message = text.trim().slice(0, 1000) || `HTTP ${res.status}`;
    try {
      const s = JSON.parse(text) as { reason?: string; message?: string };
      reason = s.reason ?? '';
      message = s.message ?? message;
    } catch {
      /* not a Status */
    }
    throw new KubeError(res.status, reason, message);
  }
  return res;
}

/**
 * one plain read (no follow) through the typed client, so the client's request bound applies; the
 * typed request has no sinceTime (only sinceSeconds, which the node would count on its own clock),
 * so a per-call middleware adds it
 */
export async function readPodLog(kube: KubeClients, q: PodLogQuery): Promise<string> {
  const since = q.sinceTime;
  const options = since
    ? {
        middleware: [
          {
            pre: (ctx: RequestContext) => (ctx.setQueryParam('sinceTime', since), new kube.lib.Observable(Promise.resolve(ctx))),
            post: (res: ResponseContext) => new kube.lib.Observable(Promise.resolve(res)),
          },
        ],
        middlewareMergeStrategy: 'append' as const,
      }
    : undefined;
  try {
    const text = await kube.core.readNamespacedPodLog({ name: q.pod, namespace: q.namespace, container: CONTAINER, timestamps: true, limitBytes: q.limitBytes }, options);
    return String(text ?? '');
  } catch (err) {
    throw toKubeError(err);
  }
}

export interface FollowOptions {
  connectTimeoutMs: number;
  idleMs: number;
  signal: AbortSignal;
  /** handles one chunk of text; the next is read when this resolves */
  onText: (text: string) => Promise<void>;
}

/** follows the log until the server ends the stream ('ended'), idleMs pass without a byte ('idle'), or signal aborts ('aborted') */
export async function followPodLog(kube: KubeClients, q: PodLogQuery, o: FollowOptions): Promise<'ended' | 'idle' | 'aborted'> {
  const ac = new AbortController();
  const onAbort = () => ac.abort(new Error('stopped'));
  if (o.signal.aborted) return 'aborted';
  o.signal.addEventListener('abort', onAbort, { once: true });
  let idle = false;
  let timer = setTimeout(() => ac.abort(timeoutError(`opening the log stream of pod ${q.pod}`, o.connectTimeoutMs)), o.connectTimeoutMs);
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      ac.abort(new Error('idle'));
    }, o.idleMs);
  };
  try {
    const res = await open(kube, q, true, ac.signal);
    if (!res.body) return 'ended';
    const decoder = new TextDecoder();
    arm();
    for await (const chunk of res.body) {
      clearTimeout(timer); // the store's time is not the stream's silence
      await o.onText(decoder.decode(chunk as Uint8Array, { stream: true }));
      if (ac.signal.aborted) break;
      arm();
    }
    return o.signal.aborted ? 'aborted' : idle ? 'idle' : 'ended';
  } catch (err) {
    if (o.signal.aborted) return 'aborted';
    if (idle) return 'idle';
    throw ac.signal.aborted && ac.signal.reason instanceof KubeError ? ac.signal.reason : err;
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener('abort', onAbort);
  }
}
