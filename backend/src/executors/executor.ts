/**
 * The Executor seam: what runs runs. The runs service records runs in the
 * store and hands them to the executor; the executor reports back through a
 * RunSink (never writing the store itself), so the same lifecycle code serves
 * the local executor and the Kubernetes one.
 */
import type { Availability, HardwareProfile, Params } from '@trainyard/shared';

export interface RunSpec {
  id: string;
  model: string;
  version: string;
  entrypoint: string;
  /** shell command, run with `sh -c` in the code directory (/app in an image) */
  command: string;
  params: Params;
  hardware: HardwareProfile;
  maxDurationSeconds: number;
  sweepId: string | null;
  /** the run's point in its sweep (its Indexed Job's completion index); absent: its place among the specs submitted together */
  sweepIndex?: number | null;
  /** sweep parallelism: at most this many runs of the sweep at once (null: no sweep limit) */
  parallelism: number | null;
  image: {
    ref: string;
    digest: string;
    /** null when the version was built on the empty base: run with the host Python */
    baseImage: string | null;
  };
  /** a training run whose artifacts this run reads from TRAINYARD_INPUT_DIR (launched with fromRun) */
  inputRunId?: string | null;
}

/** What the store knows of a run that is not final, handed to reconcile() at start. */
export interface ActiveRun {
  spec: RunSpec;
  status: 'Pending' | 'Running';
  /** the opaque state the executor last reported with started()/log() */
  ref: unknown;
  startedAt: string | null;
}

export type FinalStatus = 'Succeeded' | 'Failed' | 'Cancelled';

export interface FinalInfo {
  status: FinalStatus;
  exitCode: number | null;
  reason: string | null;
  finishedAt: string;
  /** when the run started, if the executor knows: kept when the store has no start (its started() write was lost) */
  startedAt?: string | null;
}

export interface RunSink {
  pending(runId: string, reason: string): Promise<void>;
  started(runId: string, info: { startedAt: string; ref: unknown }): Promise<void>;
  /** lines without their newline; `ref` (optional) is stored atomically with the lines, e.g. file offsets */
  log(runId: string, lines: Array<{ stream: 'stdout' | 'stderr' | 'system'; text: string }>, ref?: unknown): Promise<void>;
  /** resolves once the store holds the end (executors call it through FinalWrites: final-writes.ts) */
  finished(runId: string, info: FinalInfo): Promise<void>;
  /**
   * Records runs the executor started by itself (a schedule it holds fired), exactly once per
   * `key` (e.g. the uid of the Job that a CronJob created): true when recorded now, false when
   * the key was already recorded (by an earlier life of the backend, or another backend).
   * The specs carry the ids the executor chose; `ref` is stored as each run's executor ref.
   */
  adopt?(batch: { key: string; scheduleId: string; runs: RunSpec[]; ref: unknown }): Promise<boolean>;
}

/** A schedule held by the executor (Executor.schedule): what one fire launches. */
export interface ScheduleSpec {
  id: string;
  cron: string;
  timezone: string;
  /** the runs of one fire (one, or a sweep's points in order); `id` and `sweepId` are chosen at each fire */
  runs: RunSpec[];
  /**
   * the schedule's fromRun ('latest' or a run id), resolved when each fire is recorded (RunSink.adopt)
   * and read by the fire's pods from their run's record
   */
  fromRun?: string | null;
}

export interface Executor {
  readonly kind: 'local' | 'kubernetes';
  /** begin work; re-attach to or settle every run the store still has as Pending/Running */
  start(sink: RunSink, active: ActiveRun[]): Promise<void>;
  submit(runs: RunSpec[]): Promise<void>;
  /** idempotent; a run not known to the executor is reported finished as Cancelled */
  cancel(runId: string): Promise<void>;
  availability(profiles: HardwareProfile[]): Promise<Map<string, Availability>>;
  /** stop watching (runs keep going where the executor allows it); used on shutdown */
  stop(): Promise<void>;
  /**
   * Optional: the executor holds schedules itself (Kubernetes: a CronJob each) and reports each
   * fire's runs through RunSink.adopt; the backend's own schedule loop then fires none.
   * schedule() creates, or updates a schedule whose fire changed (a new version on "latest"), and is
   * idempotent; unschedule() of an unknown id is a no-op.
   */
  schedule?(s: ScheduleSpec): Promise<void>;
  unschedule?(scheduleId: string): Promise<void>;
  /** at start: make the executor's schedules exactly `all` (create missing, remove orphans) */
  reconcileSchedules?(all: ScheduleSpec[]): Promise<void>;
  /** the cron expression as this executor holds it (translated when exact), or throws a 400 saying why it cannot */
  cronExpression?(expr: string): string;
}
