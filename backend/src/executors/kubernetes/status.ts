/**
 * What a run's Job and pod say about the run: Pending (and why), Running (since when) or
 * final (status, exit code, why, when). Pure functions of the objects, so the reconciler
 * stays level-based: whatever order events come in, the same objects give the same answer.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { FinalStatus } from '../executor';
import { CONTAINER, FINISH_LOG_PREFIX } from './manifests';

export type RunState =
  | { phase: 'Pending'; reason: string }
  | { phase: 'Running'; startedAt: string; pod: string }
  | { phase: 'Final'; status: FinalStatus; exitCode: number | null; reason: string | null; startedAt: string | null; finishedAt: string; pod: string | null };

const iso = (d: Date | string | undefined | null): string | null => (d ? new Date(d).toISOString() : null);

/** the pod that speaks for the run: the newest one */
export function currentPod(pods: V1Pod[]): V1Pod | null {
  if (pods.length === 0) return null;
  return [...pods].sort((a, b) => +new Date(b.metadata?.creationTimestamp ?? 0) - +new Date(a.metadata?.creationTimestamp ?? 0))[0];
}

/** why a pod is not running yet, in the user's words with Kubernetes' own message */
export function pendingReason(pod: V1Pod): string {
  const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (sched && sched.status === 'False') {
    return `waiting for a node: ${sched.message || sched.reason || 'not scheduled yet'}`;
  }
  if (!pod.spec?.nodeName) return 'waiting for the scheduler';
  const cs = pod.status?.containerStatuses?.find((c) => c.name === CONTAINER) ?? pod.status?.containerStatuses?.[0];
  const w = cs?.state?.waiting;
  if (w?.reason && /ImagePull|ErrImage|InvalidImageName/.test(w.reason)) return `cannot pull image ${cs?.image ?? ''}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
  if (w?.reason && w.reason !== 'ContainerCreating') return `starting on ${pod.spec.nodeName}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
  return `starting on ${pod.spec.nodeName}`;
}

function startedAtOf(pod: V1Pod): string | null {
  const cs = pod.status?.containerStatuses?.[0];
  return iso(cs?.state?.running?.startedAt) ?? iso(cs?.state?.terminated?.startedAt) ?? iso(pod.status?.startTime);
}

/**
 * the last n non-empty lines of a termination message (the end of a traceback), without the
 * finish step's lines: they follow the command's output in the log the message is the tail of
 * (manifests.ts FINISH_LOG_PREFIX), and say what became of the outputs, not why the run failed
 */
function lastLines(message: string, n: number): string {
  return message.split('\n').filter((l) => l.trim() && !l.startsWith(FINISH_LOG_PREFIX)).slice(-n).join('\n');
}

/** why an init container (the fetch of a fromRun's artifacts) failed, with its last lines, or null */
function initFailure(pod: V1Pod): string | null {
  const failed = pod.status?.initContainerStatuses?.find((c) => (c.state?.terminated?.exitCode ?? 0) !== 0);
  const t = failed?.state?.terminated;
  if (!failed || !t) return null;
  const what = failed.name === 'inputs' ? "fetching the training run's artifacts (fromRun) failed" : `init container ${failed.name} failed`;
  return `${what}: exit code ${t.exitCode}${t.message?.trim() ? `: ${lastLines(t.message, 4)}` : ''}`;
}

/** a terminal pod's outcome */
export function podOutcome(pod: V1Pod, maxDurationSeconds: number): Extract<RunState, { phase: 'Final' }> {
  const name = pod.metadata?.name ?? null;
  const cs = pod.status?.containerStatuses?.find((c) => c.name === CONTAINER) ?? pod.status?.containerStatuses?.[0];
  const t = cs?.state?.terminated;
  const finishedAt = iso(t?.finishedAt) ?? new Date().toISOString();
  const startedAt = startedAtOf(pod);
  if (pod.status?.phase === 'Succeeded') return { phase: 'Final', status: 'Succeeded', exitCode: t?.exitCode ?? 0, reason: null, startedAt, finishedAt, pod: name };
  let reason: string;
  if (pod.status?.reason === 'DeadlineExceeded') reason = `exceeded its max duration of ${maxDurationSeconds} s (activeDeadlineSeconds)`;
  else if (t?.reason === 'OOMKilled') reason = `out of memory: the container was OOMKilled (exit code ${t.exitCode}); pick a profile with more memory`;
  else if (pod.status?.reason === 'Evicted') reason = `evicted: ${pod.status.message ?? ''}`.trim();
  else if (initFailure(pod)) reason = initFailure(pod)!;
  else if (t) reason = `exited with code ${t.exitCode}${t.reason && t.reason !== 'Error' ? ` (${t.reason})` : ''}${t.message?.trim() ? `: ${lastLines(t.message, 4)}` : ''}`;
  else reason = `pod failed: ${pod.status?.reason ?? ''} ${pod.status?.message ?? ''}`.trim();
  return { phase: 'Final', status: 'Failed', exitCode: t?.exitCode ?? null, reason, startedAt, finishedAt, pod: name };
}

/** the Job's own verdict on a single-run Job (deadline, backoff), when it has one */
function jobFailure(job: V1Job, maxDurationSeconds: number): { reason: string; at: string } | null {
  const c = job.status?.conditions?.find((x) => (x.type === 'Failed' || x.type === 'FailureTarget') && x.status === 'True');
  if (!c) return null;
  const at = iso(c.lastTransitionTime) ?? new Date().toISOString();
  if (c.reason === 'DeadlineExceeded') return { reason: `exceeded its max duration of ${maxDurationSeconds} s (activeDeadlineSeconds)`, at };
  return { reason: `${c.reason ?? 'Failed'}: ${c.message ?? ''}`.trim(), at };
}

/**
 * State of a run from its Job (null: not found) and its pods. `indexed` says the Job is a
 * sweep's and `index` is the run's completion index.
 */
export function runState(job: V1Job | null, pods: V1Pod[], maxDurationSeconds: number, indexed: { index: number } | null): RunState | null {
  const pod = currentPod(pods);
  const jf = job && !indexed ? jobFailure(job, maxDurationSeconds) : null;
  if (pod && (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')) {
    const out = podOutcome(pod, maxDurationSeconds);
    if (jf && out.status === 'Failed' && pod.status?.reason !== 'DeadlineExceeded' && /DeadlineExceeded/.test(job?.status?.conditions?.map((c) => c.reason).join(' ') ?? '')) out.reason = jf.reason;
    return out;
  }
  if (jf) {
    const t = pod?.status?.containerStatuses?.[0]?.state?.terminated;
    return { phase: 'Final', status: 'Failed', exitCode: t?.exitCode ?? null, reason: jf.reason, startedAt: pod ? startedAtOf(pod) : null, finishedAt: jf.at, pod: pod?.metadata?.name ?? null };
  }
  if (indexed && job) {
    if (inIndexSet(job.status?.completedIndexes, indexed.index)) {
      return { phase: 'Final', status: 'Succeeded', exitCode: 0, reason: null, startedAt: null, finishedAt: new Date().toISOString(), pod: null };
    }
    if (inIndexSet(job.status?.failedIndexes, indexed.index) && !pod) {
      return { phase: 'Final', status: 'Failed', exitCode: null, reason: 'its pod failed (the pod is gone)', startedAt: null, finishedAt: new Date().toISOString(), pod: null };
    }
  }
  if (pod && !pod.metadata?.deletionTimestamp) {
    const cs = pod.status?.containerStatuses?.[0];
    // a container that already ended while the pod still reads Running (the kubelet reports the phase
    // up to a relist later) has started all the same: a short run is Running from its start
    if (pod.status?.phase === 'Running' && (cs?.state?.running || cs?.state?.terminated)) return { phase: 'Running', startedAt: startedAtOf(pod)!, pod: pod.metadata!.name! };
    return { phase: 'Pending', reason: pendingReason(pod) };
  }
  if (!job) return null;
  if (job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') && !indexed) {
    return { phase: 'Final', status: 'Succeeded', exitCode: 0, reason: null, startedAt: null, finishedAt: iso(job.status.completionTime) ?? new Date().toISOString(), pod: null };
  }
  if (job.spec?.suspend) return { phase: 'Pending', reason: 'the Job is suspended' };
  if (indexed) {
    const active = job.status?.active ?? 0;
    const par = job.spec?.parallelism ?? 1;
    if (active >= par) return { phase: 'Pending', reason: `queued: the sweep runs at most ${par} at once` };
  }
  return { phase: 'Pending', reason: 'waiting for the Job controller to create its pod' };
}

/** "0-2,5" contains 1 */
export function inIndexSet(set: string | undefined | null, i: number): boolean {
  if (!set) return false;
  for (const part of set.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (i === a || (b !== undefined && i >= a && i <= b)) return true;
  }
  return false;
}
