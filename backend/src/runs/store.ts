/** Store queries for runs, sweeps, launches (idempotency), logs and metrics. */
import type { HardwareProfile, LogLine, MetricSeries, Params, Run, RunStatus, Sweep } from '@trainyard/shared';
import type { Db, RunsTable, SweepsTable } from '../store/db';
import { nowIso } from '../ids';
import { decodeCursor, isId, isSeq, isTimestamp, toPage, type CursorKind, type Page, type PageRequest } from '../store/keyset';

export type RunRow = RunsTable;

export function toRun(r: RunRow): Run {
  return {
    id: r.id,
    model: r.model,
    version: r.version,
    entrypoint: r.entrypoint,
    command: r.command,
    params: JSON.parse(r.params) as Params,
    hardware: r.hardware,
    status: r.status as RunStatus,
    reason: r.reason,
    sweepId: r.sweep_id,
    sweepIndex: r.sweep_index === null ? null : Number(r.sweep_index),
    scheduleId: r.schedule_id,
    executor: r.executor,
    maxDurationSeconds: Number(r.max_duration_seconds),
    exitCode: r.exit_code === null ? null : Number(r.exit_code),
    createdBy: r.created_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    pricePerHour: Number(r.price_per_hour),
    estimatedCost: r.estimated_cost === null ? null : Number(r.estimated_cost),
    actualCost: r.actual_cost === null ? null : Number(r.actual_cost),
    inputRunId: r.input_run_id ?? null,
  };
}

export function toSweep(s: SweepsTable): Sweep {
  return { id: s.id, model: s.model, version: s.version, axes: JSON.parse(s.axes), size: Number(s.size), parallelism: Number(s.parallelism), createdAt: s.created_at };
}

/** What a new run is recorded with; every run starts Pending. */
export interface NewRun {
  id: string;
  model: string;
  version: string;
  entrypoint: string;
  command: string;
  params: Params;
  profile: HardwareProfile;
  maxDurationSeconds: number;
  sweepId: string | null;
  sweepIndex: number | null;
  scheduleId: string | null;
  reason: string;
  executor: string;
  executorRef: unknown;
  createdBy: string;
  createdAt: string;
  estimatedCost: number;
  /** the training run whose artifacts it reads */
  inputRunId?: string | null;
}

export function pendingRunRow(n: NewRun): RunRow {
  return {
    id: n.id,
    model: n.model,
    version: n.version,
    entrypoint: n.entrypoint,
    command: n.command,
    params: JSON.stringify(n.params),
    hardware: n.profile.name,
    hardware_spec: JSON.stringify(n.profile),
    status: 'Pending',
    reason: n.reason,
    sweep_id: n.sweepId,
    sweep_index: n.sweepIndex,
    schedule_id: n.scheduleId,
    executor: n.executor,
    executor_ref: n.executorRef === null || n.executorRef === undefined ? null : JSON.stringify(n.executorRef),
    max_duration_seconds: n.maxDurationSeconds,
    exit_code: null,
    created_by: n.createdBy,
    created_at: n.createdAt,
    started_at: null,
    finished_at: null,
    price_per_hour: n.profile.pricePerHour,
    estimated_cost: n.estimatedCost,
    actual_cost: null,
    next_log_seq: 0,
    input_run_id: n.inputRunId ?? null,
  };
}

/**
 * Records a launch in one transaction: its key in `launches` (when it has one),
 * its sweep, its runs. Returns false, writing nothing, when the key is taken.
 */
export async function insertLaunch(db: Db, launch: { key: string | null; hash: string; sweep: SweepsTable | null; rows: RunRow[] }): Promise<boolean> {
  const { key, hash, sweep, rows } = launch;
  return db.transaction().execute(async (tx) => {
    if (key) {
      const ins = await tx
        .insertInto('launches')
        .values({ idempotency_key: key, request_hash: hash, result: JSON.stringify({ runIds: rows.map((r) => r.id), sweepId: sweep?.id ?? null }), created_at: rows[0]?.created_at ?? new Date().toISOString() })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .executeTakeFirst();
      if (Number(ins.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
    }
    if (sweep) await tx.insertInto('sweeps').values(sweep).execute();
    for (let i = 0; i < rows.length; i += 100) await tx.insertInto('runs').values(rows.slice(i, i + 100)).execute();
    return true;
  });
}

export async function getRunRow(db: Db, id: string): Promise<RunRow | undefined> {
  return db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function getRunsByIds(db: Db, ids: string[]): Promise<Run[]> {
  const out: Run[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('runs').selectAll().where('id', 'in', ids.slice(i, i + 500)).execute();
    out.push(...rows.map(toRun));
  }
  const order = new Map(ids.map((id, i) => [id, i]));
  return out.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
}

export async function getSweep(db: Db, id: string): Promise<Sweep | null> {
  const row = await db.selectFrom('sweeps').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toSweep(row) : null;
}

export interface RunFilter {
  model?: string;
  status?: string;
  sweep?: string;
  schedule?: string;
  /** the person who launched them */
  createdBy?: string;
  limit: number;
  /** the nextCursor of the previous page */
  cursor?: string;
}

/** run pages: newest first, keyed on (created_at, id) */
export const RUN_CURSOR: CursorKind = { list: 'GET /v1/runs', columns: [isTimestamp, isId] };

/**
 * One page of runs, newest first, keyset-paginated on (created_at, id): runs the
 * executor records itself (a CronJob's fires) have ids that are not
 * time-sortable, so time leads. Each filter has an index that ends in
 * (created_at, id), so the seek and the order come from the index (the plan
 * test in backend/test/store/page-plans.test.ts checks it). A bad cursor throws a 400.
 */
export function runsPageQuery(db: Db, f: RunFilter) {
  let q = db.selectFrom('runs').selectAll();
  if (f.model) q = q.where('model', '=', f.model);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.sweep) q = q.where('sweep_id', '=', f.sweep);
  if (f.schedule) q = q.where('schedule_id', '=', f.schedule);
  if (f.createdBy) q = q.where('created_by', '=', f.createdBy);
  if (f.cursor) {
    const [createdAt, id] = decodeCursor(RUN_CURSOR, f.cursor);
    q = q.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(createdAt, id)));
  }
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit + 1);
}

export async function listRuns(db: Db, f: RunFilter): Promise<Page<Run>> {
  return toPage(await runsPageQuery(db, f).execute(), f.limit, RUN_CURSOR, (r) => [r.created_at, r.id], toRun);
}

export async function activeRunRows(db: Db): Promise<RunRow[]> {
  return db.selectFrom('runs').selectAll().where('status', 'in', ['Pending', 'Running']).orderBy('id').execute();
}

/** Median wall-clock seconds of finished runs of a model on a profile (Succeeded only), over the last 50. */
export async function pastDurations(db: Db, model: string, hardware: string, entrypoint: string): Promise<number[]> {
  const rows = await db
    .selectFrom('runs')
    .select(['started_at', 'finished_at'])
    .where('model', '=', model)
    .where('hardware', '=', hardware)
    .where('entrypoint', '=', entrypoint)
    .where('status', '=', 'Succeeded')
    .where('started_at', 'is not', null)
    .where('finished_at', 'is not', null)
    .orderBy('id', 'desc')
    .limit(50)
    .execute();
  return rows.map((r) => (Date.parse(r.finished_at!) - Date.parse(r.started_at!)) / 1000).filter((s) => s >= 0);
}

export interface NewLogLine {
  stream: 'stdout' | 'stderr' | 'system';
  text: string;
}
export interface NewMetric {
  /** index into the lines of the same append */
  line: number;
  name: string;
  step: number | null;
  value: number;
}

/**
 * Appends log lines (and the metrics parsed from them) and stores the
 * executor's ref in one transaction: a crash cannot split them.
 * Returns the seq of the first appended line.
 */
export async function appendLogs(db: Db, runId: string, lines: NewLogLine[], metrics: NewMetric[], executorRef?: unknown): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('runs').select('next_log_seq').where('id', '=', runId).executeTakeFirstOrThrow();
    const first = Number(row.next_log_seq);
    const time = nowIso();
    for (let i = 0; i < lines.length; i += 200) {
      await tx
        .insertInto('run_logs')
        .values(lines.slice(i, i + 200).map((l, j) => ({ run_id: runId, seq: first + i + j, stream: l.stream, text: l.text, time })))
        .execute();
    }
    for (let i = 0; i < metrics.length; i += 200) {
      await tx
        .insertInto('metrics')
        .values(metrics.slice(i, i + 200).map((m) => ({ run_id: runId, seq: first + m.line, name: m.name, step: m.step, value: m.value, time })))
        .onConflict((oc) => oc.columns(['run_id', 'seq']).doNothing())
        .execute();
    }
    const update: Partial<RunRow> = { next_log_seq: first + lines.length };
    if (executorRef !== undefined) update.executor_ref = JSON.stringify(executorRef);
    await tx.updateTable('runs').set(update).where('id', '=', runId).execute();
    return first;
  });
}

/** up to `limit` log lines after seq `after`: a seek on the (run_id, seq) primary key */
export function logsPageQuery(db: Db, runId: string, after: number, limit: number) {
  return db.selectFrom('run_logs').selectAll().where('run_id', '=', runId).where('seq', '>', after).orderBy('seq').limit(limit);
}

export async function getLogs(db: Db, runId: string, after: number, limit: number): Promise<LogLine[]> {
  const rows = await logsPageQuery(db, runId, after, limit).execute();
  return rows.map((r) => ({ seq: Number(r.seq), stream: r.stream as LogLine['stream'], text: r.text, time: r.time }));
}

/** metric pages: a run's points in the order they were logged, keyed on seq */
export const METRIC_CURSOR: CursorKind = { list: 'GET /v1/runs/:id/metrics', columns: [isSeq] };

/** one page of a run's metric points, a seek on the (run_id, seq) primary key; a bad cursor throws a 400 */
export function metricsPageQuery(db: Db, runId: string, page: PageRequest) {
  let q = db.selectFrom('metrics').selectAll().where('run_id', '=', runId);
  if (page.cursor) {
    const [seq] = decodeCursor(METRIC_CURSOR, page.cursor);
    q = q.where('seq', '>', Number(seq));
  }
  return q.orderBy('seq').limit(page.limit + 1);
}

/** a page of points grouped into one series per name (sorted by name), and the next page's cursor */
export async function getMetrics(db: Db, runId: string, page: PageRequest = { limit: 10000 }): Promise<{ series: MetricSeries[]; nextCursor: string | null }> {
  const { items: rows, nextCursor } = toPage(await metricsPageQuery(db, runId, page).execute(), page.limit, METRIC_CURSOR, (r) => [String(r.seq)], (r) => r);
  const byName = new Map<string, MetricSeries>();
  for (const r of [...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : Number(a.seq) - Number(b.seq)))) {
    let s = byName.get(r.name);
    if (!s) byName.set(r.name, (s = { name: r.name, points: [] }));
    s.points.push({ step: r.step === null ? null : Number(r.step), value: Number(r.value), time: r.time });
  }
  return { series: [...byName.values()], nextCursor };
}
