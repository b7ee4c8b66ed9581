/**
 * The run lifecycle: records launches (idempotently) and hands them to the
 * executor; as the RunSink, turns what the executor reports into run state,
 * archived logs, parsed metrics, costs and events.
 */
import { createHash } from 'node:crypto';
import { parseMetricLine, FINAL_STATUSES, type HardwareProfile, type LaunchRequest, type LaunchResult, type Run, type Estimate } from '@trainyard/shared';
import type { AppContext } from '../context';
import type { ActiveRun, FinalInfo, RunSink, RunSpec } from '../executors/executor';
import { conflict, HttpError, invalid, notFound } from '../errors';
import { ArtifactsService } from '../artifacts/service';
import { revokeRunTokens } from '../auth/run-tokens';
import { newId, nowIso } from '../ids';
import { getVersion } from '../models/store';
import { resolveLaunch } from './launch';
import { actualCost, estimate as priceEstimate, round4 } from './cost';
import { activeRunRows, appendLogs, getRunRow, getRunsByIds, getSweep, insertLaunch, pastDurations, pendingRunRow, toRun, type NewMetric, type RunRow } from './store';

const finalSet = new Set<string>(FINAL_STATUSES);

export class RunsService implements RunSink {
  constructor(
    private readonly ctx: AppContext,
    private readonly artifacts = new ArtifactsService(ctx),
  ) {}

  async estimate(req: LaunchRequest): Promise<Estimate> {
    const r = await resolveLaunch(this.ctx, req);
    const past = await pastDurations(this.ctx.db, req.model, r.profile.name, r.entrypoint);
    return priceEstimate(r.points.length, r.profile, r.maxDurationSeconds, past);
  }

  /** Launch one run or a sweep now (schedules go through SchedulesService). */
  async launch(req: LaunchRequest, opts: { scheduleId?: string; createdBy?: string } = {}): Promise<LaunchResult> {
    if (req.versionPolicy) throw invalid('versionPolicy applies to schedules only (with schedule); a launch now runs the version given, or the latest');
    const r = await resolveLaunch(this.ctx, req);
    const inputRunId = req.fromRun ? await this.inputRun(req.model, req.fromRun) : null;
    const past = await pastDurations(this.ctx.db, req.model, r.profile.name, r.entrypoint);
    const est = priceEstimate(r.points.length, r.profile, r.maxDurationSeconds, past);
    const perRun = round4(est.totalCost / Math.max(1, r.points.length));
    const key = req.idempotencyKey ?? null;
    const hash = requestHash(req);
    const createdAt = nowIso();
    const sweepId = r.points.length > 1 || req.sweep ? newId('swp') : null;
    const rows = r.points.map((params, i) =>
      pendingRunRow({
        id: newId('run'),
        model: req.model,
        version: r.version.label,
        entrypoint: r.entrypoint,
        command: r.command,
        params,
        profile: r.profile,
        maxDurationSeconds: r.maxDurationSeconds,
        sweepId,
        sweepIndex: sweepId ? i : null,
        scheduleId: opts.scheduleId ?? null,
        reason: 'submitted to the executor',
        executor: this.ctx.executor.kind,
        executorRef: null,
        createdBy: opts.createdBy ?? this.ctx.user,
        createdAt,
        estimatedCost: perRun,
        inputRunId,
      }),
    );
    const sweep = sweepId
      ? { id: sweepId, model: req.model, version: r.version.label, axes: JSON.stringify(req.sweep ?? {}), size: rows.length, parallelism: r.parallelism, created_at: createdAt }
      : null;
    const created = await insertLaunch(this.ctx.db, { key, hash, sweep, rows });

    if (!created) return this.replay(key!, hash, est);

    const runs = rows.map(toRun);
    for (const run of runs) this.ctx.bus.publish({ kind: 'run', data: run });
    try {
      await this.ctx.executor.submit(rows.map((row) => this.spec(row, r.version.imageRef, r.version.digest, r.version.baseImage, sweepId ? r.parallelism : null)));
    } catch (err) {
      // recorded runs never stay Pending for nothing: each is settled with the reason
      const reason = `the ${this.ctx.executor.kind} executor could not take the run: ${(err as Error).message}`;
      for (const row of rows) await this.finished(row.id, { status: 'Failed', exitCode: null, reason, finishedAt: nowIso() });
    }
    return { runs: await getRunsByIds(this.ctx.db, runs.map((x) => x.id)), sweep: sweepId ? await getSweep(this.ctx.db, sweepId) : null, schedule: null, estimate: est };
  }

  /** A repeated idempotency key: the same request gets the first answer's runs; a different one is refused. */
  private async replay(key: string, hash: string, est: Estimate): Promise<LaunchResult> {
    const row = await this.ctx.db.selectFrom('launches').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow();
    if (row.request_hash !== hash) throw conflict(`idempotency key "${key}" was already used for a different request; use a new key`);
    if (!row.result) throw new HttpError('conflict', `a request with idempotency key "${key}" is still being processed; retry shortly`);
    const { runIds, sweepId } = JSON.parse(row.result) as { runIds: string[]; sweepId: string | null };
    return { runs: await getRunsByIds(this.ctx.db, runIds), sweep: sweepId ? await getSweep(this.ctx.db, sweepId) : null, schedule: null, estimate: est };
  }

  private spec(row: RunRow, imageRef: string, digest: string, baseImage: string | null, parallelism: number | null): RunSpec {
    return {
      id: row.id,
      model: row.model,
      version: row.version,
      entrypoint: row.entrypoint,
      command: row.command,
      params: JSON.parse(row.params),
      hardware: JSON.parse(row.hardware_spec) as HardwareProfile,
      maxDurationSeconds: Number(row.max_duration_seconds),
      sweepId: row.sweep_id,
      sweepIndex: row.sweep_index === null ? null : Number(row.sweep_index),
      parallelism,
      image: { ref: imageRef, digest, baseImage },
      inputRunId: row.input_run_id ?? null,
    };
  }

  /** The training run a launch with fromRun reads (resolved now: "latest" means latest at this launch). */
  private async inputRun(model: string, fromRun: string): Promise<string> {
    if (this.ctx.executor.kind === 'kubernetes' && !this.ctx.config.executor.kubernetes.backendUrl) {
      throw invalid('fromRun on Kubernetes needs executor.kubernetes.backendUrl (the URL pods reach the backend at): the run fetches the artifacts from there');
    }
    return this.artifacts.resolveInput(model, fromRun);
  }

  /** What the executor must pick up again after a restart. */
  async activeRuns(): Promise<ActiveRun[]> {
    const out: ActiveRun[] = [];
    for (const row of await activeRunRows(this.ctx.db)) {
      const v = await getVersion(this.ctx.db, row.model, row.version);
      const sweep = row.sweep_id ? await getSweep(this.ctx.db, row.sweep_id) : null;
      if (!v) {
        await this.finished(row.id, { status: 'Failed', exitCode: null, reason: `version ${row.version} of ${row.model} no longer exists`, finishedAt: nowIso() });
        continue;
      }
      out.push({
        spec: this.spec(row, v.imageRef, v.digest, v.baseImage, sweep ? sweep.parallelism : null),
        status: row.status as 'Pending' | 'Running',
        ref: row.executor_ref ? JSON.parse(row.executor_ref) : null,
        startedAt: row.started_at,
      });
    }
    return out;
  }

  async get(id: string): Promise<Run> {
    const row = await getRunRow(this.ctx.db, id);
    if (!row) throw notFound(`no run "${id}"; \`trainyard runs\` lists them`);
    return toRun(row);
  }

  async cancel(id: string): Promise<Run> {
    const run = await this.get(id);
    if (finalSet.has(run.status)) throw conflict(`run ${id} already ended (${run.status}); nothing to cancel`);
    await this.ctx.executor.cancel(id);
    return this.get(id);
  }

  // ---- RunSink: the executor reports here ----

  private async update(id: string, set: Partial<RunRow>): Promise<void> {
    const res = await this.ctx.db.updateTable('runs').set(set).where('id', '=', id).where('status', 'not in', [...FINAL_STATUSES]).executeTakeFirst();
    if (Number(res.numUpdatedRows) > 0) {
      // the write is done: a failed read for the event must not make the caller write again
      const row = await getRunRow(this.ctx.db, id).catch(() => undefined);
      if (row) this.ctx.bus.publish({ kind: 'run', data: toRun(row) });
    }
  }

  async pending(runId: string, reason: string): Promise<void> {
    await this.update(runId, { status: 'Pending', reason });
  }

  async started(runId: string, info: { startedAt: string; ref: unknown }): Promise<void> {
    await this.update(runId, { status: 'Running', reason: null, started_at: info.startedAt, executor_ref: JSON.stringify(info.ref) });
  }

  async log(runId: string, lines: Array<{ stream: 'stdout' | 'stderr' | 'system'; text: string }>, ref?: unknown): Promise<void> {
    if (lines.length === 0 && ref === undefined) return;
    const all = [...lines];
    const metrics: NewMetric[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].stream !== 'stdout') continue;
      const m = parseMetricLine(lines[i].text);
      if (!m) continue;
      if ('error' in m) all.push({ stream: 'system', text: `trainyard: ignored a malformed metric line (${m.error})` });
      else metrics.push({ line: i, name: m.name, step: m.step, value: m.value });
    }
    await appendLogs(this.ctx.db, runId, all, metrics, ref);
    this.ctx.bus.logsChanged(runId);
  }

  /**
   * Runs the executor started itself (a schedule it holds fired): recorded once per key (the
   * launches table), with the ids the executor chose, Pending until it reports more.
   */
  async adopt(batch: { key: string; scheduleId: string; runs: RunSpec[]; ref: unknown }): Promise<boolean> {
    const first = batch.runs[0];
    if (!first) return false;
    const schedule = await this.ctx.db.selectFrom('schedules').selectAll().where('id', '=', batch.scheduleId).executeTakeFirst();
    const request = schedule ? (JSON.parse(schedule.request) as LaunchRequest) : null;
    const past = await pastDurations(this.ctx.db, first.model, first.hardware.name, first.entrypoint);
    const est = priceEstimate(batch.runs.length, first.hardware, first.maxDurationSeconds, past);
    const perRun = round4(est.totalCost / Math.max(1, batch.runs.length));
    const createdAt = nowIso();
    const sweepId = first.sweepId;
    // fromRun on the schedule: resolved now ("latest" = latest at this fire); the fire's pods read it from their run's record
    let inputRunId: string | null = null;
    let inputError: string | null = null;
    if (request?.fromRun) {
      try {
        inputRunId = await this.artifacts.resolveInput(first.model, request.fromRun);
      } catch (err) {
        inputError = (err as Error).message;
      }
    }
    const rows = batch.runs.map((spec, i) =>
      pendingRunRow({
        ...spec,
        inputRunId: inputRunId ?? spec.inputRunId ?? null,
        profile: spec.hardware,
        sweepIndex: sweepId ? i : null,
        scheduleId: batch.scheduleId,
        reason: inputError ? `started by schedule ${batch.scheduleId}; its fromRun "${request!.fromRun}" found no training run: ${inputError}` : `started by schedule ${batch.scheduleId}`,
        executor: this.ctx.executor.kind,
        executorRef: batch.ref,
        createdBy: schedule?.created_by ?? this.ctx.user,
        createdAt,
        estimatedCost: perRun,
      }),
    );
    const sweep = sweepId
      ? { id: sweepId, model: first.model, version: first.version, axes: JSON.stringify(request?.sweep ?? {}), size: rows.length, parallelism: first.parallelism ?? rows.length, created_at: createdAt }
      : null;
    const created = await insertLaunch(this.ctx.db, { key: batch.key, hash: createHash('sha256').update(batch.key).digest('hex'), sweep, rows });
    if (!created) return false;
    for (const row of rows) this.ctx.bus.publish({ kind: 'run', data: toRun(row) });
    if (schedule) {
      await this.ctx.db.updateTable('schedules').set({ last_fire_at: createdAt, last_error: null }).where('id', '=', batch.scheduleId).execute();
    }
    return true;
  }

  /** Resolves only once the end is stored (executors retry on a throw: executors/final-writes.ts); a second call is a no-op. */
  async finished(runId: string, info: FinalInfo): Promise<void> {
    const row = await getRunRow(this.ctx.db, runId);
    if (!row || finalSet.has(row.status)) return;
    // a pod's token (its finish step pushes the outputs) ends with the run; revoked first, so a
    // retry after a failed write cannot skip it (the run would already read final)
    if (this.ctx.executor.kind === 'kubernetes') await revokeRunTokens(this.ctx.db, runId);
    // a started() that was lost to a store failure: the executor's start time keeps cost and duration right
    const startedAt = row.started_at ?? info.startedAt ?? null;
    await this.update(runId, {
      status: info.status,
      exit_code: info.exitCode,
      reason: info.reason,
      finished_at: info.finishedAt,
      ...(startedAt !== row.started_at ? { started_at: startedAt } : {}),
      actual_cost: actualCost(Number(row.price_per_hour), startedAt, info.finishedAt),
    });
    this.ctx.bus.logsChanged(runId);
  }
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

export function requestHash(req: LaunchRequest): string {
  const { idempotencyKey: _k, ...rest } = req;
  return createHash('sha256').update(JSON.stringify(canonical(rest))).digest('hex');
}
