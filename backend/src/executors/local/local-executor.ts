/**
 * LocalExecutor: runs runs on this machine, each as a detached process tree
 * (see wrapper.ts) that outlives the backend, in a process sandbox
 * (process-sandbox.ts) or a podman container (podman.ts).
 *
 * The executor holds a FIFO queue and the set of active runs (starting or
 * running). admission.ts decides what may start; each started run gets a
 * RunMonitor that tails logs and reports the end. All sink calls go through
 * one promise chain, so a run's pending/started/log/finished reach the store
 * in order. start() re-attaches to what the store still has as active
 * (reattach.ts); stop() only stops watching.
 *
 * A run's end goes through FinalWrites (../final-writes.ts): its slot is freed and the run
 * forgotten only once the store confirmed the end. Until then it is parked, and derived
 * again from its run dir (exit and cancelled files, through a fresh RunMonitor) on each pass.
 */
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Availability, HardwareProfile } from '@trainyard/shared';
import type { ResolvedConfig } from '../../config';
import type { ActiveRun, Executor, FinalInfo, RunSink, RunSpec } from '../executor';
import { FinalWrites, withRetries, type RetryPolicy } from '../final-writes';
import { availabilityOf, cannotFit, plan, usageOf, type Limits } from './admission';
import { CANCELLED_REASON, type Outcome } from './outcome';
import { prepareContainerRun, containerName } from './podman';
import { detectPodman, podmanLinkDir, runnableImage, podmanQuiet, type PodmanSetup } from '../../runtime/podman';
import { prepareProcessRun, resolvePython, type Prepared } from './process-sandbox';
import { makeRef, type RunMode } from './ref';
import { reattach } from './reattach';
import { RunMonitor } from './run-monitor';
import { writeAtomic } from '@trainyard/shared/write-atomic';
import { spawnWrapper, writeProcFile } from './wrapper';

export interface LocalExecutorOptions {
  config: ResolvedConfig['executor']['local'];
  cpuCount: number;
  memoryBytes: number;
  /** <data home>/runs: one directory per run */
  runsDir: string;
  /** unpacks the version's image filesystem into dest (code at dest/app, helper at dest/opt/trainyard/python) */
  materialize: (spec: RunSpec, dest: string) => Promise<void>;
  /** an image reference podman can run; absent => the podman path is unavailable */
  podmanImage?: (spec: RunSpec) => Promise<string>;
  /** global flags for every podman command (default: --runtime=runc --cgroup-manager=cgroupfs when runc is installed) */
  podmanArgs?: string[];
  /** where the links that name `oci:` images for podman go (default: podman-oci beside runsDir, i.e. in the data home) */
  podmanLinkDir?: string;
  /**
   * keeps what a run left in its output dir once it has ended (before it is reported final);
   * returns what the run's reason should add (files dropped), or null
   */
  keepOutputs?: (spec: RunSpec, outputDir: string) => Promise<string | null>;
  /** puts the artifacts of spec.inputRunId into dest (read-only), before the run starts */
  prepareInput?: (spec: RunSpec, dest: string) => Promise<void>;
  /** where diagnostics go (default console.error) */
  log?: (msg: string) => void;
  /** retries of a run's final write, and how often a run whose end is not stored yet is derived again (final-writes.ts) */
  finalRetry?: RetryPolicy;
  rederiveMs?: number;
}

interface ActiveEntry {
  spec: RunSpec;
  monitor: RunMonitor | null;
  cancelRequested: boolean;
}

const DONE_MEMORY = 10_000;

export class LocalExecutor implements Executor {
  readonly kind = 'local' as const;
  private sink: RunSink | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  /** the last sink error, logged once while it repeats */
  private sinkError: string | null = null;
  private readonly queue: RunSpec[] = [];
  private readonly active = new Map<string, ActiveEntry>();
  private readonly done = new Set<string>();
  private readonly lastPending = new Map<string, string>();
  private stopped = false;
  private readonly launching = new Set<Promise<void>>();
  private podmanSetup: PodmanSetup | null = null;
  private podmanProbe: Promise<PodmanSetup | null> | null = null;
  private pythonProbe: Promise<string> | null = null;
  private readonly limits: Limits;
  private readonly log: (msg: string) => void;
  private readonly finals: FinalWrites;
  /** ends being recorded (stop() waits for them) */
  private readonly ending = new Set<Promise<void>>();

  constructor(private readonly opts: LocalExecutorOptions) {
    this.limits = { maxConcurrent: Math.max(1, opts.config.maxConcurrent), cpuCount: opts.cpuCount, memoryBytes: opts.memoryBytes };
    this.log = opts.log ?? ((m) => console.error(`local executor: ${m}`));
    this.finals = new FinalWrites({
      write: (id, info) => this.call(() => this.requireSink().finished(id, info)),
      retry: opts.finalRetry,
      rederiveMs: opts.rederiveMs,
      log: this.log,
    });
  }

  /** runs whose end is not stored yet (they keep their slot) */
  get unrecordedEnds(): number {
    return this.finals.size;
  }

  async start(sink: RunSink, active: ActiveRun[]): Promise<void> {
    this.sink = sink;
    this.stopped = false;
    await this.probePodman();
    const requeue: RunSpec[] = [];
    for (const a of active) {
      if (this.active.has(a.spec.id) || this.done.has(a.spec.id)) continue;
      const r = await reattach(a, this.runDir(a.spec.id));
      if (r.kind === 'queue') {
        requeue.push(a.spec);
        continue;
      }
      if (r.kind === 'cancelled') {
        void this.finish(a.spec.id, { status: 'Cancelled', exitCode: null, reason: CANCELLED_REASON, finishedAt: new Date().toISOString() });
        continue;
      }
      if (r.reportStarted) await this.call(() => sink.started(a.spec.id, { startedAt: r.startedAt, ref: r.ref }));
      const entry: ActiveEntry = { spec: a.spec, monitor: null, cancelRequested: false };
      this.active.set(a.spec.id, entry);
      entry.monitor = this.monitorFor(a.spec, r.ref, r.startedAt);
      await entry.monitor.start();
    }
    for (const spec of requeue) this.enqueue(spec);
    this.finals.start();
    this.pump();
  }

  async submit(runs: RunSpec[]): Promise<void> {
    for (const spec of runs) this.enqueue(spec);
    this.pump();
  }

  async cancel(runId: string): Promise<void> {
    const qi = this.queue.findIndex((q) => q.id === runId);
    if (qi >= 0) {
      this.queue.splice(qi, 1);
      // durable first: should the store not take the report, a restart must not run it (reattach.ts)
      const dir = this.runDir(runId);
      await mkdir(dir, { recursive: true })
        .then(() => writeAtomic(join(dir, 'cancelled'), new Date().toISOString()))
        .catch((err: Error) => this.log(`run ${runId}: could not mark it cancelled in its run dir: ${err.message}`));
      await this.finish(runId, { status: 'Cancelled', exitCode: null, reason: CANCELLED_REASON, finishedAt: new Date().toISOString() });
      this.pump();
      return;
    }
    const entry = this.active.get(runId);
    if (entry) {
      if (entry.cancelRequested) return;
      entry.cancelRequested = true;
      if (entry.monitor) await entry.monitor.cancel();
      return; // a run still starting is cancelled by launch() before or right after spawning
    }
    if (this.done.has(runId)) return;
    await this.finish(runId, { status: 'Cancelled', exitCode: null, reason: CANCELLED_REASON, finishedAt: new Date().toISOString() });
  }

  async availability(profiles: HardwareProfile[]): Promise<Map<string, Availability>> {
    const running = usageOf([...this.active.values()].map((e) => e.spec));
    const waiting = plan(this.queue, running, this.limits).wait.filter((w) => !w.reason.startsWith('waiting: sweep')).length;
    const out = new Map<string, Availability>();
    for (const h of profiles) out.set(h.name, availabilityOf(h, running, waiting, this.limits));
    return out;
  }

  /**
   * Stops watching: monitors and timers end, runs keep going (the next start() re-attaches
   * them from the store). Runs being launched finish launching first, so once this resolves
   * the sink is not called again.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.launching]);
    await Promise.all([...this.active.values()].map((e) => e.monitor?.stop()));
    await Promise.all([...this.ending]);
    await this.finals.stop();
    await this.chain;
    this.active.clear();
    this.queue.length = 0;
    this.lastPending.clear();
  }

  // ---- internals ----

  private runDir(id: string): string {
    return join(this.opts.runsDir, id);
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.then(
      () => void (this.sinkError = null),
      (err: Error) => {
        if (err.message !== this.sinkError) this.log(`sink call failed: ${err.message}`);
        this.sinkError = err.message;
      },
    );
    return p;
  }

  private requireSink(): RunSink {
    if (!this.sink) throw new Error('LocalExecutor used before start()');
    return this.sink;
  }

  private probePodman(): Promise<PodmanSetup | null> {
    this.podmanProbe ??= detectPodman(this.opts.podmanArgs).then((s) => (this.podmanSetup = s));
    return this.podmanProbe;
  }

  private monitorFor(spec: RunSpec, ref: ReturnType<typeof makeRef>, startedAt: string): RunMonitor {
    return new RunMonitor(spec, this.runDir(spec.id), ref, startedAt, {
      sink: () => this.requireSink(),
      call: (fn) => this.call(fn),
      podman: () => this.podmanSetup,
      onEnd: (id, outcome) => void this.ended(id, outcome, startedAt),
      // the end was seen but could not be handled (its last logs could not be stored): derived again later
      onEndFailed: (id) => this.finals.park(id, () => this.rederive(id, null)),
      log: this.log,
    });
  }

  /** Queues a run (once), or fails it at once when its profile can never fit this machine. */
  private enqueue(spec: RunSpec): void {
    if (this.active.has(spec.id) || this.done.has(spec.id) || this.queue.some((q) => q.id === spec.id)) return;
    const never = cannotFit(spec.hardware, this.limits);
    if (never) {
      void this.finish(spec.id, { status: 'Failed', exitCode: null, reason: `cannot run on this machine: profile ${spec.hardware.name} ${never}`, finishedAt: new Date().toISOString() });
      return;
    }
    this.queue.push(spec);
  }

  /** Starts what may start, tells the rest why they wait (only when the reason changed). */
  private pump(): void {
    if (this.stopped || !this.sink) return;
    const running = usageOf([...this.active.values()].map((e) => e.spec));
    const decided = plan(this.queue, running, this.limits);
    for (const spec of decided.start) {
      this.queue.splice(this.queue.indexOf(spec), 1);
      this.lastPending.delete(spec.id);
      this.active.set(spec.id, { spec, monitor: null, cancelRequested: false });
      const job: Promise<void> = this.launch(spec)
        .catch((err) => this.ended(spec.id, { status: 'Failed', exitCode: null, reason: `could not start the run: ${(err as Error).message}` }))
        .finally(() => this.launching.delete(job));
      this.launching.add(job);
    }
    for (const w of decided.wait) {
      if (this.lastPending.get(w.spec.id) === w.reason) continue;
      this.lastPending.set(w.spec.id, w.reason);
      const sink = this.sink;
      void this.call(() => sink.pending(w.spec.id, w.reason));
    }
  }

  /** Decides process sandbox or podman, or why the run cannot run at all. */
  private async modeFor(spec: RunSpec): Promise<{ mode: RunMode } | { error: string }> {
    const want = this.opts.config.podman;
    if (spec.image.baseImage === null || want === 'never') return { mode: 'process' };
    const setup = await this.probePodman();
    if (setup && this.opts.podmanImage) return { mode: 'podman' };
    if (want === 'always') {
      return {
        error: setup
          ? 'executor.local.podman is "always" but this backend has no way to hand images to podman'
          : 'executor.local.podman is "always" but podman was not found on PATH',
      };
    }
    return { mode: 'process' };
  }

  private async launch(spec: RunSpec): Promise<void> {
    const dir = this.runDir(spec.id);
    const entry = this.active.get(spec.id);
    if (!entry) return;
    const decided = await this.modeFor(spec);
    if ('error' in decided) return this.ended(spec.id, { status: 'Failed', exitCode: null, reason: decided.error });
    const { mode } = decided;
    // a fresh attempt: nothing from an earlier, never-started attempt may leak into this one
    for (const f of ['stdout.log', 'stderr.log', 'wrapper.log', 'exit', 'exit.tmp', 'proc.json', 'cancelled']) {
      await rm(join(dir, f), { force: true });
    }
    await mkdir(join(dir, 'output'), { recursive: true });
    await mkdir(join(dir, 'home'), { recursive: true });
    if (spec.inputRunId) {
      try {
        if (!this.opts.prepareInput) throw new Error('this executor was set up without run inputs');
        await this.opts.prepareInput(spec, join(dir, 'input'));
      } catch (err) {
        return this.ended(spec.id, { status: 'Failed', exitCode: null, reason: `could not get the artifacts of run ${spec.inputRunId}: ${(err as Error).message}` });
      }
    }
    let prepared: Prepared & { cleanup?: string[] };
    let container: string | null = null;
    try {
      if (mode === 'podman') {
        const setup = this.podmanSetup as PodmanSetup;
        const runnable = await runnableImage(await this.opts.podmanImage!(spec), spec.image.digest, this.opts.podmanLinkDir ?? podmanLinkDir(dirname(this.opts.runsDir)));
        container = containerName(spec.id);
        await podmanQuiet(setup, ['rm', '-f', '-t', '0', container]); // a leftover of an interrupted attempt
        prepared = prepareContainerRun(spec, dir, runnable, setup);
      } else {
        const probe = (this.pythonProbe ??= resolvePython(this.opts.config.python));
        probe.catch(() => {
          if (this.pythonProbe === probe) this.pythonProbe = null; // try again next time (PATH may be fixed)
        });
        prepared = await prepareProcessRun(spec, dir, this.opts.materialize, await probe);
      }
    } catch (err) {
      return this.ended(spec.id, { status: 'Failed', exitCode: null, reason: `could not prepare the run: ${(err as Error).message}` });
    }
    if (entry.cancelRequested) return this.ended(spec.id, { status: 'Cancelled', exitCode: null, reason: CANCELLED_REASON });
    const ident = await spawnWrapper({
      runDir: dir,
      maxSeconds: Math.max(1, Math.ceil(spec.maxDurationSeconds)),
      argv: prepared.argv,
      env: prepared.env,
      cwd: prepared.cwd,
      cleanup: prepared.cleanup,
    });
    const startedAt = new Date().toISOString();
    await writeProcFile(dir, { ...ident, mode, container, startedAt });
    const ref = makeRef(mode, ident, container);
    const sink = this.requireSink();
    await this.call(() => sink.started(spec.id, { startedAt, ref })).catch(() => {});
    if (this.stopped) return; // re-attached on the next start()
    entry.monitor = this.monitorFor(spec, ref, startedAt);
    await entry.monitor.start();
    if (entry.cancelRequested) await entry.monitor.cancel();
  }

  /**
   * A started (or failed-to-start) run is over: keep its outputs, record the end, and only once
   * the store has it free the slot and start the next. Not recorded: the run keeps its slot and
   * is parked (derived again on the next pass).
   */
  private ended(id: string, outcome: Outcome, startedAt: string | null = null): Promise<void> {
    const job = (async () => {
      const spec = this.active.get(id)?.spec;
      const keep = this.opts.keepOutputs;
      const note =
        spec && keep
          ? await withRetries(() => keep(spec, join(this.runDir(id), 'output')), this.finals.retry).catch((err: Error) => `artifacts could not be kept: ${err.message}`)
          : null;
      const info: FinalInfo = {
        ...(note ? { ...outcome, reason: outcome.reason ? `${outcome.reason}; ${note}` : note } : outcome),
        finishedAt: new Date().toISOString(),
        startedAt,
      };
      await this.settle(id, info);
    })();
    this.ending.add(job);
    return job.finally(() => this.ending.delete(job));
  }

  /** Records the end of a run that held a slot; once stored, frees the slot and starts the next. */
  private async settle(id: string, info: FinalInfo): Promise<void> {
    if (!(await this.finish(id, info))) return;
    this.active.delete(id);
    // the materialized filesystem is only needed while running; logs, exit and output stay
    void rm(join(this.runDir(id), 'root'), { recursive: true, force: true }).catch(() => {});
    this.pump();
  }

  /** Records a run's end; true once stored. Not stored: parked, and derived again on the next pass. */
  private async finish(id: string, info: FinalInfo): Promise<boolean> {
    this.lastPending.delete(id);
    if (!(await this.finals.write(id, info))) {
      this.finals.park(id, () => this.rederive(id, info));
      return false;
    }
    this.done.add(id);
    if (this.done.size > DONE_MEMORY) this.done.delete(this.done.values().next().value as string);
    return true;
  }

  /**
   * Derives a parked run's end again: a run that started gets a fresh RunMonitor (its first tick
   * reads the exit and cancelled files, stores the logs not stored yet, and reports the end);
   * one that never started (no process: queued, cancelled or refused) has only `known` to go by.
   */
  private rederive(id: string, known: FinalInfo | null): void {
    if (this.stopped) return; // the next start() finds the run in the store and derives it then
    const entry = this.active.get(id);
    if (entry?.monitor) {
      const old = entry.monitor;
      entry.monitor = this.monitorFor(entry.spec, old.currentRef, old.startedAt);
      void entry.monitor.start().catch((err) => this.log(`run ${id}: watching it again failed: ${(err as Error).message}`));
      return;
    }
    if (!known) return;
    const job = entry ? this.settle(id, known) : this.finish(id, known).then(() => undefined);
    this.ending.add(job);
    void job.finally(() => this.ending.delete(job));
  }
}
