/**
 * Cron schedules, held by the backend (not by an open editor). A 1-second
 * loop fires due schedules. Each tick is claimed by inserting
 * (schedule, tick) into schedule_fires, and the launch carries the
 * idempotency key schedule:<id>:<tick>, so a tick never fires twice, even
 * across restarts or two backends on one database. Ticks missed while the
 * backend was down fire once (the earliest missed), then the schedule moves
 * on from now.
 *
 * A claimed fire stays open until its outcome is recorded: launched, or refused (a 4xx: the
 * version is gone, the hardware profile too...). Open fires are launched again, with the same
 * idempotency key, by the first tick after start and, when older than a minute, by any tick, so
 * a backend killed between claim and launch (or a store that failed mid-launch) loses no fire
 * and a launch that did happen is only replayed. Each outcome is recorded on the schedule:
 * lastFireAt (the tick) and lastError.
 *
 * An executor that holds schedules itself (Executor.schedule: Kubernetes, a CronJob each) gets
 * each schedule at create, its removal at delete, and the whole table at start; it reports each
 * fire's runs through RunSink.adopt, and this loop fires none.
 *
 * Which version a fire runs (versionPolicy) means the same on both: 'pinned' stores the version
 * in the request; 'latest' stores none, so the loop resolves it at each fire, and an executor
 * that holds the schedule gets it again whenever a version of the model is recorded (its CronJob's
 * template is re-rendered with that version) and at start.
 */
import { Cron } from 'croner';
import type { LaunchRequest, LaunchResult, Schedule, TrainyardEvent, VersionPolicy } from '@trainyard/shared';
import type { AppContext } from '../context';
import type { Db, SchedulesTable } from '../store/db';
import type { RunsService } from '../runs/service';
import type { ScheduleSpec } from '../executors/executor';
import { resolveLaunch } from '../runs/launch';
import { getVersion } from '../models/store';
import { HttpError, invalid, notFound } from '../errors';
import { newId, nowIso } from '../ids';
import { decodeCursor, isId, toPage, type CursorKind, type Page, type PageRequest } from '../store/keyset';
import { revokeScheduleTokens } from '../auth/run-tokens';

/** schedule pages: by id, oldest first */
export const SCHEDULE_CURSOR: CursorKind = { list: 'GET /v1/schedules', columns: [isId] };

/** one page of schedules by id, a seek on the primary key; a bad cursor throws a 400 */
export function schedulesPageQuery(db: Db, page: PageRequest) {
  let q = db.selectFrom('schedules').selectAll();
  if (page.cursor) {
    const [id] = decodeCursor(SCHEDULE_CURSOR, page.cursor);
    q = q.where('id', '>', id);
  }
  return q.orderBy('id').limit(page.limit + 1);
}

function toSchedule(r: SchedulesTable): Schedule {
  return {
    id: r.id,
    model: r.model,
    cron: r.cron,
    timezone: r.timezone,
    request: JSON.parse(r.request),
    versionPolicy: r.version_policy === 'pinned' ? 'pinned' : 'latest',
    enabled: Number(r.enabled) === 1,
    nextFireAt: r.next_fire_at,
    lastFireAt: r.last_fire_at,
    lastError: r.last_error ?? null,
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

/** an open fire claimed this long ago is launched again by any tick (a peer that claimed it died) */
const STALE_FIRE_MS = 60_000;

/**
 * The crash tests' fault seam: TRAINYARD_FAULT_SCHEDULE_CRASH=after-claim|after-launch stops a fire
 * at that point (the error escapes the loop, nothing after it runs), as a backend killed there
 * would. Tests only; unset, it does nothing.
 */
export class ScheduleCrashFault extends Error {}
function faultPoint(point: 'after-claim' | 'after-launch'): void {
  if (process.env.TRAINYARD_FAULT_SCHEDULE_CRASH === point) throw new ScheduleCrashFault(`fault injected: schedule fire stopped ${point}`);
}

export function parseCron(expr: string, timezone: string): Cron {
  try {
    const c = new Cron(expr, { paused: true, timezone });
    c.nextRun(); // throws on a bad timezone
    return c;
  } catch (err) {
    const msg = (err as Error).message.replace(/^Cron(Pattern|Date): /, '');
    throw invalid(`invalid schedule "${expr}" (timezone ${timezone}): ${msg}. Use 5 fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * 1" for Mondays at 03:00`);
  }
}

export class SchedulesService {
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  /** false until a tick has launched every open fire once (the first tick after start) */
  private recovered = false;
  /** when the last pass over stale open fires ran */
  private staleCheckedAt = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly ctx: AppContext,
    private readonly runs: RunsService,
  ) {}

  async create(req: LaunchRequest, createdBy = this.ctx.user): Promise<LaunchResult> {
    const { schedule: given, timezone: tz, idempotencyKey: _k, versionPolicy: policyGiven, ...request } = req;
    if (policyGiven === 'latest' && request.version) {
      throw invalid(`versionPolicy "latest" runs the latest version at each fire, so it takes no version (got "${request.version}"); drop one of them`);
    }
    const versionPolicy: VersionPolicy = policyGiven ?? (request.version ? 'pinned' : 'latest');
    const timezone = tz ?? 'UTC';
    // an executor that holds schedules may take fewer forms (Kubernetes: 5 fields); refused before anything is stored
    const expr = this.ctx.executor.cronExpression ? this.ctx.executor.cronExpression(given!) : given;
    const cron = parseCron(expr!, timezone);
    const estimate = await this.runs.estimate(request); // validates model, version, entrypoint, hardware, grid
    if (request.fromRun && this.ctx.executor.kind === 'kubernetes' && !this.ctx.config.executor.kubernetes.backendUrl) {
      // a fire's pods fetch the training run's files from the backend
      throw invalid('fromRun on Kubernetes needs executor.kubernetes.backendUrl (the URL pods reach the backend at): each fire fetches the artifacts from there');
    }
    const next = cron.nextRun();
    if (!next) throw invalid(`schedule "${expr}" never fires`);
    if (versionPolicy === 'pinned' && !request.version) request.version = (await getVersion(this.ctx.db, request.model, null))!.label; // estimate found it
    const row: SchedulesTable = {
      id: newId('sch'),
      model: req.model,
      cron: expr!,
      timezone,
      request: JSON.stringify(request),
      version_policy: versionPolicy,
      enabled: 1,
      next_fire_at: next.toISOString(),
      last_fire_at: null,
      created_by: createdBy,
      created_at: nowIso(),
    };
    await this.ctx.db.insertInto('schedules').values(row).execute();
    if (this.ctx.executor.schedule) {
      try {
        await this.ctx.executor.schedule(await this.spec(row));
      } catch (err) {
        await this.ctx.db.deleteFrom('schedules').where('id', '=', row.id).execute();
        throw invalid(`the ${this.ctx.executor.kind} executor could not take the schedule: ${(err as Error).message}`);
      }
    }
    const schedule = toSchedule(row);
    this.ctx.bus.publish({ kind: 'schedule', data: schedule });
    return { runs: [], sweep: null, schedule, estimate };
  }

  async list(page: PageRequest = { limit: 100 }): Promise<Page<Schedule>> {
    const rows = await schedulesPageQuery(this.ctx.db, page).execute();
    // held by the executor: the loop does not advance next_fire_at, so it is computed here
    const held = !!this.ctx.executor.schedule;
    const map = (r: SchedulesTable): Schedule =>
      held ? { ...toSchedule(r), nextFireAt: Number(r.enabled) === 1 ? (parseCron(r.cron, r.timezone).nextRun()?.toISOString() ?? null) : null } : toSchedule(r);
    return toPage(rows, page.limit, SCHEDULE_CURSOR, (r) => [r.id], map);
  }

  async get(id: string): Promise<Schedule> {
    const row = await this.ctx.db.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`no schedule "${id}"; \`trainyard schedules\` lists them`);
    return toSchedule(row);
  }

  async delete(id: string): Promise<void> {
    const res = await this.ctx.db.deleteFrom('schedules').where('id', '=', id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`no schedule "${id}"; \`trainyard schedules\` lists them`);
    await this.ctx.executor.unschedule?.(id);
    await revokeScheduleTokens(this.ctx.db, id); // its fires' pushes end with it
    this.ctx.bus.publish({ kind: 'schedule', data: { id, deleted: true } });
  }

  /** what one fire of a schedule runs, resolved now (the executor pins the version's image) */
  private async spec(row: SchedulesTable): Promise<ScheduleSpec> {
    const request = JSON.parse(row.request) as LaunchRequest;
    const r = await resolveLaunch(this.ctx, request);
    const sweep = r.points.length > 1 || !!request.sweep;
    return {
      id: row.id,
      cron: row.cron,
      timezone: row.timezone,
      runs: r.points.map((params) => ({
        id: '',
        model: row.model,
        version: r.version.label,
        entrypoint: r.entrypoint,
        command: r.command,
        params,
        hardware: r.profile,
        maxDurationSeconds: r.maxDurationSeconds,
        sweepId: sweep ? 'sweep' : null,
        parallelism: sweep ? r.parallelism : null,
        image: { ref: r.version.imageRef, digest: r.version.digest, baseImage: r.version.baseImage },
      })),
      fromRun: request.fromRun ?? null,
    };
  }

  /** hands the executor every schedule (it creates what is missing and removes orphans) */
  async reconcileExecutor(): Promise<void> {
    const reconcile = this.ctx.executor.reconcileSchedules;
    if (!reconcile) return;
    const specs: ScheduleSpec[] = [];
    for (const row of await this.ctx.db.selectFrom('schedules').selectAll().where('enabled', '=', 1).execute()) {
      try {
        specs.push(await this.spec(row));
      } catch (err) {
        console.error(`trainyard: schedule ${row.id} cannot be handed to the executor: ${(err as Error).message}`);
      }
    }
    await reconcile.call(this.ctx.executor, specs);
  }

  /** a version was recorded: the executor's schedules of that model on 'latest' get their template again */
  private async versionRecorded(model: string): Promise<void> {
    const rows = await this.ctx.db.selectFrom('schedules').selectAll().where('model', '=', model).where('version_policy', '=', 'latest').where('enabled', '=', 1).execute();
    for (const row of rows) {
      try {
        await this.ctx.executor.schedule!(await this.spec(row));
      } catch (err) {
        console.error(`trainyard: schedule ${row.id} keeps its earlier version on the ${this.ctx.executor.kind} executor: ${(err as Error).message}`);
      }
    }
  }

  start(intervalMs = 1000): void {
    if (this.ctx.executor.schedule) {
      if (!this.unsubscribe) {
        this.unsubscribe = this.ctx.bus.subscribe((e: TrainyardEvent) => {
          if (e.kind === 'version') void this.versionRecorded(e.data.model).catch((err) => console.error(`trainyard: updating schedules for a new version: ${(err as Error).message}`));
        });
      }
      // the executor fires schedules itself; the loop must not fire them too
      void this.reconcileExecutor().catch((err) => console.error(`trainyard: reconciling schedules with the executor: ${(err as Error).message}`));
      return;
    }
    if (this.timer) return;
    const loop = () =>
      void this.tick().catch((err) => {
        if (err instanceof ScheduleCrashFault) this.stop(); // the injected crash: this scheduler is dead from here on
        console.error(`trainyard: schedule loop: ${(err as Error).message}`);
      });
    this.timer = setInterval(loop, intervalMs);
    this.timer.unref();
    loop();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Fires every due schedule once, and launches open fires again (all on the first tick, stale ones later); exported for tests. */
  async tick(now = new Date()): Promise<number> {
    if (this.ticking) return 0;
    this.ticking = true;
    let fired = 0;
    try {
      const due = await this.ctx.db
        .selectFrom('schedules')
        .selectAll()
        .where('enabled', '=', 1)
        .where('next_fire_at', '<=', now.toISOString())
        .execute();
      for (const s of due) {
        const tick = s.next_fire_at!;
        const claim = await this.ctx.db
          .insertInto('schedule_fires')
          .values({ schedule_id: s.id, tick, fired_at: nowIso() })
          .onConflict((oc) => oc.columns(['schedule_id', 'tick']).doNothing())
          .executeTakeFirst();
        const next = parseCron(s.cron, s.timezone).nextRun(now);
        await this.ctx.db
          .updateTable('schedules')
          .set({ next_fire_at: next ? next.toISOString() : null, enabled: next ? 1 : 0 })
          .where('id', '=', s.id)
          .where('next_fire_at', '=', tick)
          .execute();
        if (Number(claim.numInsertedOrUpdatedRows ?? 0n) === 0) continue;
        faultPoint('after-claim');
        if (await this.fire(s, tick)) fired++;
      }
      if (!this.recovered || now.getTime() - this.staleCheckedAt >= STALE_FIRE_MS / 2) {
        const staleBefore = this.recovered ? new Date(now.getTime() - STALE_FIRE_MS).toISOString() : null;
        for (const { tick, ...s } of await this.openFires(staleBefore)) if (await this.fire(s, tick)) fired++;
        this.recovered = true;
        this.staleCheckedAt = now.getTime();
      }
    } finally {
      this.ticking = false;
    }
    return fired;
  }

  /** claimed fires with no recorded outcome (claimed before `before`, or all), of schedules that still exist */
  private openFires(before: string | null): Promise<Array<SchedulesTable & { tick: string }>> {
    let q = this.ctx.db
      .selectFrom('schedule_fires')
      .innerJoin('schedules', 'schedules.id', 'schedule_fires.schedule_id')
      .selectAll('schedules')
      .select('schedule_fires.tick as tick')
      .where('schedule_fires.launched_at', 'is', null)
      .where('schedule_fires.error', 'is', null);
    if (before) q = q.where('schedule_fires.fired_at', '<', before);
    return q.orderBy('schedule_fires.tick').limit(100).execute();
  }

  /**
   * Launches one claimed fire (idempotently: a fire launched before is replayed, not launched
   * again) and records its outcome on the fire and the schedule. True when it launched. A failure
   * that is not a refusal (the store or the executor failed) leaves the fire open for a later tick.
   */
  private async fire(s: SchedulesTable, tick: string): Promise<boolean> {
    const request = JSON.parse(s.request) as LaunchRequest;
    let error: string | null = null;
    try {
      await this.runs.launch({ ...request, idempotencyKey: `schedule:${s.id}:${tick}` }, { scheduleId: s.id, createdBy: s.created_by });
    } catch (err) {
      error = (err as Error).message;
      console.error(`trainyard: schedule ${s.id} could not launch at ${tick}: ${error}`);
      if (!(err instanceof HttpError && err.status < 500)) {
        await this.ctx.db.updateTable('schedules').set({ last_error: `the fire of ${tick} is retried: ${error}` }).where('id', '=', s.id).execute().catch(() => undefined);
        return false;
      }
    }
    faultPoint('after-launch');
    await this.ctx.db
      .updateTable('schedule_fires')
      .set(error === null ? { launched_at: nowIso() } : { error })
      .where('schedule_id', '=', s.id)
      .where('tick', '=', tick)
      .execute();
    await this.ctx.db
      .updateTable('schedules')
      .set({ last_fire_at: tick, last_error: error })
      .where('id', '=', s.id)
      .where((eb) => eb.or([eb('last_fire_at', 'is', null), eb('last_fire_at', '<=', tick)])) // a late retry does not hide a newer fire
      .execute();
    const updated = await this.ctx.db.selectFrom('schedules').selectAll().where('id', '=', s.id).executeTakeFirst();
    if (updated) this.ctx.bus.publish({ kind: 'schedule', data: toSchedule(updated) });
    return error === null;
  }
}
