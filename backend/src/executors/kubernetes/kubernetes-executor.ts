/**
 * KubernetesExecutor: a run is a Job, a sweep one Indexed Job (manifests.ts). Two
 * informers (informer.ts) on Jobs and Pods carrying `trainyard.dev/managed-by` keep a cache;
 * every change re-derives the affected run's state from that cache (status.ts) and reports
 * transitions to the RunSink, one promise chain per run so a run's pending / started /
 * log / finished reach the store in order. A periodic resync re-derives pending runs too
 * (a quota refusal changes no Job or Pod; it only shows in the Job's events: job-events.ts).
 *
 * Logs are archived while a run goes (logs.ts) and once more at its end, before finished(),
 * so they outlive the pods. start() lists the cluster before anything else: runs whose Job
 * exists are re-attached (log offsets come back in the ref), runs the store has as Pending
 * with no Job are submitted (Job names are derived from run / sweep ids, so a create that
 * races an earlier one meets 409 and adopts it: nothing is launched twice), and a run that
 * was Running whose Job is gone is reported Failed.
 *
 * Availability comes from cluster-wide node and pod caches (cluster-capacity.ts), not from lists.
 *
 * Schedules are CronJobs (cronjobs.ts creates, deletes and reconciles them). A Job one creates carries the
 * schedule label and the fire's RunSpecs but no run ids: the executor derives them from the
 * Job's uid, records them through RunSink.adopt (once per uid, across restarts and backends)
 * and follows them like any run; their ref says `adopted`, so one whose Job vanished is never
 * resubmitted as a plain Job.
 *
 * A run's end goes through FinalWrites (../final-writes.ts): the run is forgotten only once the
 * store confirmed it. Until then it is parked (no resync touches it), and each pass of
 * FinalWrites derives it again from the informers' Job and pods, as after a restart.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Availability, HardwareProfile } from '@trainyard/shared';
import type { ActiveRun, Executor, FinalInfo, RunSink, RunSpec, ScheduleSpec } from '../executor';
import { FinalWrites, type RetryPolicy } from '../final-writes';
import { ClusterCapacity } from './cluster-capacity';
import { call, toKubeError, type KubeClients, type RetryOptions } from './client';
import { createJobObjects, deleteJob, deletePod, removeUnanswered, type JobObjectsDeps } from './job-objects';
import { CronJobs, scheduledRunIdsOf, scheduledSpecs } from './cronjobs';
import { JobRuns } from './job-runs';
import { cronJobSchedule } from './cron-expression';
import { JobEvents } from './job-events';
import { Informer } from './informer';
import { LogArchiver, type LogRef } from './logs';
import { completionIndexes, runJob, sweepObjects, type ManifestOptions } from './manifests';
import { ANNOTATION, jobNameForRun, jobNameForSweep, LABEL, SELECTOR } from './names';
import { runState, type RunState } from './status';

export interface KubernetesExecutorOptions {
  kube: KubeClients;
  namespace: string;
  ttlSecondsAfterFinished?: number;
  podAnnotations?: (spec: RunSpec) => Record<string, string>;
  /** wait before following a pod's log again after its stream ended */
  logPollMs?: number;
  /** a pod's log stream silent this long is opened again (default 60 s) */
  logIdleMs?: number;
  resyncMs?: number;
  retry?: RetryOptions;
  /** retries of a run's final write, and how often a run whose end is not stored yet is derived again (final-writes.ts) */
  finalRetry?: RetryPolicy;
  rederiveMs?: number;
  log?: (msg: string) => void;
  /** the backend's URL as pods reach it: runs then push their outputs there (see manifests.ts FINISH_STEP) */
  backendUrl?: string | null;
  /** how long availability trusts its caches while their watches fail (cluster-capacity.ts; default 60 s) */
  capacityStaleAfterMs?: number;
  /** a token per run, scoped to that run only, for the finish step (required with backendUrl) */
  runTokens?: (runIds: string[]) => Promise<string[]>;
  /** a token for the fires of one schedule, which its CronJob's pods push with (auth/run-tokens.ts) */
  scheduleToken?: (scheduleId: string) => Promise<{ token: string; discard: () => Promise<void> }>;
}

export interface RunRef extends LogRef {
  job: string;
  /** the run was recorded from a Job a CronJob created (never resubmitted: its Job is the CronJob's) */
  adopted?: boolean;
}

interface Tracked {
  spec: RunSpec;
  job: string;
  adopted: boolean;
  index: number | null;
  reported: 'none' | 'Pending' | 'Running' | 'Final';
  pendingReason: string | null;
  startedAt: string | null;
  seenJob: boolean;
  cancelled: boolean;
  chain: Promise<void>;
  queued: boolean;
  logs: LogArchiver;
}

export const CANCELLED_REASON = 'cancelled by user';
const DONE_MEMORY = 10_000;

export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes' as const;
  private sink: RunSink | null = null;
  private readonly runs = new Map<string, Tracked>();
  /** ids of runs that ended here lately (so a late cancel is a no-op, not a second end) */
  private readonly done = new Set<string>();
  /** which run each pod of a Job is */
  private readonly jobRuns: JobRuns;
  /** sweep Jobs this process deleted because every run of theirs was cancelled */
  private readonly deletedJobs = new Set<string>();
  readonly jobs: Informer<V1Job>;
  readonly pods: Informer<V1Pod>;
  private resyncTimer: NodeJS.Timeout | null = null;
  private readonly ns: string;
  private readonly log: (msg: string) => void;
  private stopped = true;
  /** aborted by stop(): ends the waits of background work */
  private stopping = new AbortController();
  /** uids of schedule Jobs whose runs were recorded (or are being recorded) by this backend */
  private readonly adopted = new Set<string>();
  private readonly cronJobs: CronJobs;
  private readonly jobEvents: JobEvents;
  private readonly manifests: ManifestOptions;
  private readonly objects: JobObjectsDeps;
  readonly capacity: ClusterCapacity;
  private readonly finals: FinalWrites;

  constructor(private readonly o: KubernetesExecutorOptions) {
    this.ns = o.namespace;
    this.manifests = {
      namespace: o.namespace,
      ttlSecondsAfterFinished: o.ttlSecondsAfterFinished ?? 86_400,
      podAnnotations: o.podAnnotations,
      backendUrl: o.backendUrl && o.runTokens ? o.backendUrl : null,
    };
    this.objects = { kube: o.kube, namespace: o.namespace, api: (fn) => this.api(fn), manifests: this.manifests, runTokens: o.runTokens };
    this.log = o.log ?? ((m) => console.error(`kubernetes executor: ${m}`));
    this.finals = new FinalWrites({ write: (id, info) => this.sink!.finished(id, info), retry: o.finalRetry, rederiveMs: o.rederiveMs, log: this.log });
    const { batch, core } = o.kube;
    this.jobRuns = new JobRuns((name) => this.jobs.cache.get(`${this.ns}/${name}`));
    this.jobs = new Informer<V1Job>({
      name: 'jobs',
      kube: o.kube,
      path: `/apis/batch/v1/namespaces/${this.ns}/jobs`,
      labelSelector: SELECTOR,
      list: () => this.api(() => batch.listNamespacedJob({ namespace: this.ns, labelSelector: SELECTOR })),
      onChange: (_t, job) => this.onJob(job),
      log: this.log,
    });
    this.pods = new Informer<V1Pod>({
      name: 'pods',
      kube: o.kube,
      path: `/api/v1/namespaces/${this.ns}/pods`,
      labelSelector: SELECTOR,
      list: () => this.api(() => core.listNamespacedPod({ namespace: this.ns, labelSelector: SELECTOR })),
      onChange: (_t, pod) => this.onPod(pod),
      log: this.log,
    });
    this.capacity = new ClusterCapacity({ kube: o.kube, api: (fn) => this.api(fn), log: this.log, staleAfterMs: o.capacityStaleAfterMs });
    this.jobEvents = new JobEvents(o.kube.core, this.ns, this.log);
    this.cronJobs = new CronJobs({
      kube: o.kube,
      namespace: this.ns,
      manifests: this.manifests,
      api: (fn) => this.api(fn),
      log: this.log,
      scheduleToken: o.scheduleToken,
    });
  }

  private api<T>(fn: () => Promise<T>): Promise<T> {
    return call(fn, { deadlineMs: 2 * this.o.kube.requestTimeoutMs, ...this.o.retry, onRetry: (e, n, d) => this.log(`API ${e.status ?? 'error'} (${e.message}); retry ${n} in ${d} ms`) });
  }

  // ---------------------------------------------------------------- lifecycle

  async start(sink: RunSink, active: ActiveRun[]): Promise<void> {
    this.sink = sink;
    this.stopped = false;
    this.stopping = new AbortController();
    for (const a of active) {
      const t = this.track(a.spec, a.status === 'Running' ? 'Running' : 'Pending', a.ref as RunRef | null, a.startedAt);
      // a sweep's pods are mapped to runs by completion index = sweep index (from the store)
      if (a.spec.sweepId && a.spec.sweepIndex != null) {
        t.index = a.spec.sweepIndex;
        this.jobRuns.index(t.job, [[t.index, a.spec.id]]);
      }
    }
    await this.jobs.start();
    await this.pods.start();
    await this.capacity.start(); // never throws: without the capacity ClusterRole, availability says so
    const resubmit: RunSpec[] = [];
    for (const a of active) {
      const t = this.runs.get(a.spec.id);
      if (!t) continue; // the informers' first lists already settled it (it ended while the backend was down)
      if (this.jobs.cache.has(`${this.ns}/${t.job}`)) {
        t.seenJob = true;
        this.requeue(a.spec.id);
      } else if (a.status === 'Pending' && !t.adopted) {
        resubmit.push(a.spec);
      } else {
        this.enqueue(t, () => this.finish(t, { status: 'Failed', exitCode: null, reason: `its Kubernetes Job ${t.job} is gone (deleted while the backend was not watching)`, finishedAt: new Date().toISOString() }));
      }
    }
    if (resubmit.length) await this.submit(resubmit);
    this.finals.start();
    const every = this.o.resyncMs ?? 3000;
    this.resyncTimer = setInterval(() => this.resync(), every);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = null;
    for (const t of this.runs.values()) t.logs.stop();
    await Promise.all([this.jobs.stop(), this.pods.stop(), this.capacity.stop()]);
    await Promise.all([...this.runs.values()].map((t) => t.chain));
    await this.finals.stop();
  }

  /** runs whose end is not stored yet */
  get unrecordedEnds(): number {
    return this.finals.size;
  }

  private track(spec: RunSpec, reported: Tracked['reported'], ref: RunRef | null, startedAt: string | null): Tracked {
    const existing = this.runs.get(spec.id);
    if (existing) return existing;
    const r = ref && typeof ref === 'object' ? ref : null;
    const job = typeof r?.job === 'string' && r.job ? r.job : spec.sweepId ? jobNameForSweep(spec.sweepId) : jobNameForRun(spec.id);
    const adopted = r?.adopted === true;
    const t: Tracked = {
      spec,
      job,
      adopted,
      index: null,
      reported: reported === 'Running' ? 'Running' : reported,
      pendingReason: null,
      startedAt,
      seenJob: false,
      cancelled: false,
      chain: Promise.resolve(),
      queued: false,
      logs: new LogArchiver({
        kube: this.o.kube,
        namespace: this.ns,
        pollMs: this.o.logPollMs ?? 1000,
        idleMs: this.o.logIdleMs,
        requestTimeoutMs: this.o.kube.requestTimeoutMs,
        ref: ref && typeof ref === 'object' ? ref : null,
        emit: (lines, logRef) => this.sink!.log(spec.id, lines, { job, ...(adopted ? { adopted } : {}), ...logRef } satisfies RunRef),
        enqueue: (fn) => this.enqueue(t, fn),
        log: this.log,
      }),
    };
    this.runs.set(spec.id, t);
    return t;
  }

  // ---------------------------------------------------------------- submit

  async submit(specs: RunSpec[]): Promise<void> {
    const singles = specs.filter((s) => !s.sweepId);
    const sweeps = new Map<string, RunSpec[]>();
    for (const s of specs) if (s.sweepId) sweeps.set(s.sweepId, [...(sweeps.get(s.sweepId) ?? []), s]);
    const opts = this.manifests;
    const work: Array<Promise<void>> = [];
    for (const s of singles) {
      const t = this.track(s, 'none', null, null);
      this.jobRuns.index(t.job, [[0, s.id]]);
      work.push(this.create([t], async () => void (await createJobObjects(this.objects, runJob(s, opts), [s]))));
    }
    for (const group of sweeps.values()) {
      const tracked = group.map((s) => this.track(s, 'none', null, null));
      const { configMaps, job } = sweepObjects(group, opts);
      const indexes = completionIndexes(group);
      tracked.forEach((t, k) => (t.index = indexes[k]));
      this.jobRuns.index(job.metadata!.name!, group.map((s, k) => [indexes[k], s.id]));
      work.push(this.create(tracked, async () => void (await createJobObjects(this.objects, job, group, configMaps))));
    }
    await Promise.all(work);
  }

  private async create(tracked: Tracked[], fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      for (const t of tracked) this.requeue(t.spec.id);
    } catch (err) {
      const e = toKubeError(err);
      const reason = e.status === 403 ? `the backend may not create Jobs in namespace ${this.ns}: ${e.message}` : `Kubernetes refused the run's Job (${e.status ?? 'no response'}): ${e.message}`;
      this.log(reason);
      for (const t of tracked) this.enqueue(t, () => this.finish(t, { status: 'Failed', exitCode: null, reason, finishedAt: new Date().toISOString() }));
      // no answer: the API server may have made the Job all the same; a run reported Failed must not go on running
      if (e.status === null && tracked[0]) void removeUnanswered(this.objects, tracked[0].job, { log: this.log, signal: this.stopping.signal, stopped: () => this.stopped });
    }
  }

  // ---------------------------------------------------------------- reconcile

  private refOf(t: Tracked): RunRef {
    return { job: t.job, ...(t.adopted ? { adopted: true } : {}), ...t.logs.ref };
  }

  private onJob(job: V1Job): void {
    if (job.metadata?.labels?.[LABEL.scheduleId] && !job.metadata.annotations?.[ANNOTATION.runIds]) this.adoptJob(job);
    for (const id of this.jobRuns.of(job.metadata?.name ?? '') ?? []) if (id) this.requeue(id);
  }

  private onPod(pod: V1Pod): void {
    const r = this.jobRuns.ofPod(pod);
    if (!r) return;
    const t = r.runId ? this.runs.get(r.runId) : undefined;
    const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    // a sweep pod whose run was cancelled, or ended before a restart (after one, only the indexes of
    // runs still active are known): nothing may run it
    if (this.sink && !this.stopped && (!t || t.cancelled) && !terminal && !pod.metadata?.deletionTimestamp && r.job.startsWith('ty-swp')) {
      void this.deletePod(pod.metadata!.name!);
      return;
    }
    if (t) this.requeue(t.spec.id);
  }

  private podsOf(t: Tracked): V1Pod[] {
    return this.pods.list().filter((p) => {
      const r = this.jobRuns.ofPod(p);
      return r?.job === t.job && r.runId === t.spec.id;
    });
  }

  /** re-derive one run's state soon, at most once queued at a time */
  private requeue(runId: string): void {
    const t = this.runs.get(runId);
    if (!t || t.queued || t.reported === 'Final' || !this.sink || this.finals.isParked(runId)) return;
    t.queued = true;
    this.enqueue(t, async () => {
      t.queued = false;
      await this.reconcile(t);
    });
  }

  private enqueue(t: Tracked, fn: () => Promise<void>): void {
    t.chain = t.chain.then(fn).catch((err) => this.log(`run ${t.spec.id}: ${(err as Error).message}`));
  }

  private resync(): void {
    for (const job of this.jobs.list()) if (job.metadata?.labels?.[LABEL.scheduleId] && !job.metadata.annotations?.[ANNOTATION.runIds]) this.adoptJob(job);
    for (const t of this.runs.values()) if (t.reported !== 'Final') this.requeue(t.spec.id);
  }

  private async reconcile(t: Tracked): Promise<void> {
    if (t.reported === 'Final' || t.cancelled || !this.sink) return;
    const job = this.jobs.cache.get(`${this.ns}/${t.job}`) ?? null;
    if (job) t.seenJob = true;
    if (t.index === null && t.spec.sweepId) t.index = t.spec.sweepIndex ?? (this.jobRuns.of(t.job) ?? []).indexOf(t.spec.id);
    const state: RunState | null = runState(job, this.podsOf(t), t.spec.maxDurationSeconds, t.spec.sweepId ? { index: t.index ?? -1 } : null);
    if (!state) {
      if (t.seenJob) await this.finish(t, { status: 'Failed', exitCode: null, reason: `its Kubernetes Job ${t.job} was deleted outside Trainyard`, finishedAt: new Date().toISOString() });
      return;
    }
    if (state.phase === 'Pending') {
      let reason = state.reason;
      if (reason.startsWith('waiting for the Job controller')) reason = (await this.jobEvents.reason(t.job)) ?? reason;
      if (t.reported === 'Running') return; // a restarted pod is still the same run
      // a fresh run whose pod is simply not created yet already reads Pending in the store: saying so
      // again for every run of a 1,000-run sweep was ~2,000 store writes on the launch path
      if (t.reported === 'none' && reason === state.reason && reason.startsWith('waiting for the Job controller')) return;
      if (t.reported !== 'Pending' || t.pendingReason !== reason) {
        t.reported = 'Pending';
        t.pendingReason = reason;
        await this.sink.pending(t.spec.id, reason);
      }
      return;
    }
    if (state.phase === 'Running') {
      if (t.reported !== 'Running') {
        t.reported = 'Running';
        t.startedAt = state.startedAt;
        await this.sink.started(t.spec.id, { startedAt: state.startedAt, ref: this.refOf(t) });
      }
      t.logs.follow(state.pod);
      return;
    }
    // final: started first (so cost has a start), then the last of the logs, then the end
    if (t.reported !== 'Running' && state.startedAt) {
      await this.sink.started(t.spec.id, { startedAt: state.startedAt, ref: this.refOf(t) });
      t.reported = 'Running';
    }
    if (state.pod) await t.logs.drain(state.pod);
    await this.finish(t, { status: state.status, exitCode: state.exitCode, reason: state.reason, finishedAt: state.finishedAt, startedAt: state.startedAt });
  }

  /**
   * Records the end (on the run's chain, so nothing else of the run runs meanwhile); only once
   * stored is the run Final here and forgotten. Not stored: parked, and derived again from the
   * Job and pods on the next pass (the logs not archived yet are drained then).
   */
  private async finish(t: Tracked, info: FinalInfo): Promise<void> {
    if (t.reported === 'Final') return;
    t.logs.stop();
    if (!(await this.finals.write(t.spec.id, { ...info, startedAt: info.startedAt ?? t.startedAt }))) {
      this.finals.park(t.spec.id, () => this.requeue(t.spec.id));
      return;
    }
    t.reported = 'Final';
    this.forget(t);
  }

  /** a final run needs no memory here (its sweep's Job keeps the index -> run id map) */
  private forget(t: Tracked): void {
    if (this.runs.get(t.spec.id) === t) this.runs.delete(t.spec.id);
    this.done.add(t.spec.id);
    if (this.done.size > DONE_MEMORY) this.done.delete(this.done.values().next().value!);
  }

  // ---------------------------------------------------------------- cancel

  async cancel(runId: string): Promise<void> {
    const t = this.runs.get(runId);
    if (!t && this.done.has(runId)) return;
    if (!t) {
      await this.sink?.finished(runId, { status: 'Cancelled', exitCode: null, reason: CANCELLED_REASON, finishedAt: new Date().toISOString() });
      return;
    }
    if (t.reported === 'Final' || t.cancelled) return;
    t.cancelled = true;
    const done = new Promise<void>((resolve) =>
      this.enqueue(t, async () => {
        try {
          const pod = this.podsOf(t)[0];
          if (pod && t.reported === 'Running') await t.logs.drain(pod.metadata!.name!).catch(() => undefined);
          if (t.spec.sweepId) {
            for (const p of this.podsOf(t)) await this.deletePod(p.metadata!.name!);
            // the last run of a sweep to be cancelled deletes its Job, once (a whole sweep cancelled at once: one delete, not one per run)
            const ids = (this.jobRuns.of(t.job) ?? []).filter(Boolean);
            const allDone = !this.deletedJobs.has(t.job) && ids.every((id) => {
              const o = this.runs.get(id);
              return !o || o.cancelled || o.reported === 'Final';
            });
            if (allDone) {
              this.deletedJobs.add(t.job);
              if (this.deletedJobs.size > DONE_MEMORY) this.deletedJobs.delete(this.deletedJobs.values().next().value!);
              await this.deleteJob(t.job);
            }
          } else {
            await this.deleteJob(t.job);
          }
        } finally {
          await this.finishCancelled(t);
          resolve();
        }
      }),
    );
    await done;
  }

  /** like finish(), but a cancel cannot be derived again from the cluster (its Job is deleted): a parked cancel is written again as it was */
  private async finishCancelled(t: Tracked, info: FinalInfo = { status: 'Cancelled', exitCode: null, reason: CANCELLED_REASON, finishedAt: new Date().toISOString() }): Promise<void> {
    if (t.reported === 'Final') return;
    t.logs.stop();
    if (!(await this.finals.write(t.spec.id, { ...info, startedAt: t.startedAt }))) {
      this.finals.park(t.spec.id, () => this.enqueue(t, () => this.finishCancelled(t, info)));
      return;
    }
    t.reported = 'Final';
    this.forget(t);
  }

  private deleteJob(name: string): Promise<void> {
    return deleteJob(this.objects, name);
  }

  private deletePod(name: string): Promise<void> {
    return deletePod(this.objects, name, this.log);
  }

  // ---------------------------------------------------------------- schedules (a CronJob each: cronjobs.ts)

  /**
   * A Job with a schedule label and no run ids: a CronJob fired. Its runs are recorded through
   * RunSink.adopt keyed by the Job's uid, so a second backend or a restart records nothing twice;
   * only the backend that recorded them follows them (after a restart, start() picks them up
   * from the store's active runs).
   */
  private adoptJob(job: V1Job): void {
    const uid = job.metadata?.uid;
    const name = job.metadata?.name;
    const scheduleId = job.metadata?.annotations?.[ANNOTATION.scheduleId] ?? job.metadata?.labels?.[LABEL.scheduleId];
    if (!uid || !name || !scheduleId || this.adopted.has(uid) || !this.sink?.adopt || this.stopped) return;
    const ids = scheduledRunIdsOf(job);
    if (!ids) return;
    this.adopted.add(uid);
    if (this.adopted.size > DONE_MEMORY) this.adopted.delete(this.adopted.values().next().value!);
    this.jobRuns.index(name, ids.map((id, i) => [i, id]));
    const ref: RunRef = { job: name, adopted: true, pod: null };
    void (async () => {
      try {
        const specs = await scheduledSpecs(job, (n) => this.api(() => this.o.kube.core.readNamespacedConfigMap({ name: n, namespace: this.ns })));
        if (!specs) throw new Error(`its template or its params ConfigMaps cannot be read`);
        const fresh = await this.sink!.adopt!({ key: `kubernetes-job:${uid}`, scheduleId, runs: specs, ref });
        if (!fresh || this.stopped) return;
        specs.forEach((x, i) => (this.track(x, 'none', ref, null).index = x.sweepId ? i : null));
        for (const x of specs) this.requeue(x.id);
      } catch (err) {
        this.adopted.delete(uid); // the next resync tries again
        this.log(`recording the runs of Job ${name} (schedule ${scheduleId}): ${(err as Error).message}`);
      }
    })();
  }

  schedule(s: ScheduleSpec): Promise<void> {
    return this.cronJobs.create(s);
  }

  unschedule(scheduleId: string): Promise<void> {
    return this.cronJobs.delete(scheduleId);
  }

  reconcileSchedules(all: ScheduleSpec[]): Promise<void> {
    return this.cronJobs.reconcile(all);
  }

  cronExpression(expr: string): string {
    return cronJobSchedule(expr);
  }

  // ---------------------------------------------------------------- availability

  /** from the cluster-wide node and pod caches (cluster-capacity.ts): no API request */
  availability(profiles: HardwareProfile[]): Promise<Map<string, Availability>> {
    return this.capacity.availability(profiles);
  }
}

