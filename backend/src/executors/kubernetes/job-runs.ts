/**
 * Which run each pod is: a Job's run ids by completion index. A Job this process submitted is
 * indexed at submit (a sweep's point = its sweep index), and after a restart from the store's
 * active runs; a Job it did not submit is read from the Job itself (a single run's run-ids
 * annotation, or a schedule's fire: ids derived from the Job's uid). Indexes of runs no longer
 * active stay unknown: their pods belong to no run this process follows.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { scheduledRunIdsOf } from './cronjobs';
import { ANNOTATION, INDEX_LABEL } from './names';

export class JobRuns {
  private readonly byJob = new Map<string, string[]>();

  /** `job(name)`: the Job in the informer's cache, if any */
  constructor(private readonly job: (name: string) => V1Job | undefined) {}

  /** records which run each completion index of Job `job` is (indexes not given stay unknown) */
  index(job: string, entries: Array<[index: number, runId: string]>): void {
    const ids = this.byJob.get(job) ?? [];
    for (const [i, id] of entries) ids[i] = id;
    this.byJob.set(job, ids);
  }

  /** the Job's run ids by completion index (with holes), or null when neither known nor readable */
  of(name: string): string[] | null {
    return this.byJob.get(name) ?? this.fromJob(name);
  }

  /** the Job and run of a pod (runId undefined: an index of no run followed here), or null for a pod of no known Job */
  ofPod(pod: V1Pod): { job: string; runId: string | undefined } | null {
    const labels = pod.metadata?.labels ?? {};
    const job = labels['batch.kubernetes.io/job-name'] ?? labels['job-name'] ?? pod.metadata?.ownerReferences?.find((r) => r.kind === 'Job')?.name;
    if (!job) return null;
    const ids = this.of(job);
    if (!ids) return null;
    const idx = labels[INDEX_LABEL] ?? pod.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'];
    return { job, runId: idx !== undefined ? ids[Number(idx)] : ids[0] };
  }

  private fromJob(name: string): string[] | null {
    const job = this.job(name);
    if (!job) return null;
    const raw = job.metadata?.annotations?.[ANNOTATION.runIds];
    let ids: string[] | null = null;
    if (!raw) ids = scheduledRunIdsOf(job);
    else {
      try {
        const parsed = JSON.parse(raw) as unknown;
        ids = Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? parsed : null;
      } catch {
        ids = null;
      }
    }
    if (ids) this.byJob.set(name, ids);
    return ids;
  }
}
