/**
 * The store fails under a running backend (local executor), and nothing is lost or run twice:
 *  - PostgreSQL (a server of this suite's own) is stopped as by a crash while a sweep and a
 *    schedule run, then started again: the backend carries on by itself.
 *  - PostgreSQL is stopped, the backend is shut down with ends it could not record, and a new
 *    backend starts after PostgreSQL is back: it derives those ends at start.
 *  - The SQLite store's file system fills up (a small tmpfs holds the database; a ballast file
 *    fills it), then is freed.
 * Each run's script writes its run id to a ledger file outside the store when it starts, so a
 * run that ran twice, or ran without being recorded, shows. At the end: every run final with
 * the right status and times, every log line and metric exactly once and in order, the ledger
 * matching the store, every schedule fire launched once, nothing left parked in the executor.
 * One run's end falls in each outage with its logs already stored ("quiet" param: it sleeps
 * silently before exiting), so the final write itself is what fails there.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Run, TrainyardClient } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import type { LocalExecutor } from '../../backend/src/executors/local';
import { startPostgres, type PostgresHandle } from '../components/postgres';
import { removeHome, startTestBackend, type TestBackend } from '../helpers/backend';

const TRAIN = `
import os, sys, time
import trainyard
p = trainyard.params()
with open(p["ledger"], "a") as f:
    f.write(os.environ["TRAINYARD_RUN_ID"] + "\\n")
steps = int(p.get("steps", 3))
for step in range(1, steps + 1):
    trainyard.log_metric("loss", round(1.0 / step, 6), step=step)
    print(f"step {step}/{steps}", flush=True)
    time.sleep(float(p.get("sleep", 0.05)))
print("done", flush=True)
time.sleep(float(p.get("quiet", 0)))
`;

const FINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);

/** polls `cond` (a throw counts as "not yet": the store may be down) until it holds */
async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs: number, detail?: () => Promise<string> | string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `: ${await Promise.resolve(detail()).catch((e: Error) => e.message)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function executorOf(b: TestBackend): LocalExecutor {
  return b.server.ctx.executor as LocalExecutor;
}

async function allRuns(client: TrainyardClient): Promise<Run[]> {
  return (await client.listRuns({ limit: 1000 })).items;
}

async function stdoutOf(client: TrainyardClient, id: string): Promise<string[]> {
  const out: string[] = [];
  let after = 0;
  for (;;) {
    const page = await client.getLogs(id, { after, limit: 1000 });
    out.push(...page.lines.filter((l) => l.stream === 'stdout').map((l) => l.text));
    if (page.lines.length < 1000) return out;
    after = page.lines[page.lines.length - 1].seq;
  }
}

/** every run final and consistent, its logs and metrics once each, the ledger equal to the store */
async function assertConsistent(b: TestBackend, ledger: string, expect: { status: Record<string, string> }): Promise<Run[]> {
  const runs = await allRuns(b.client);
  for (const run of runs) {
    assert.ok(FINAL.has(run.status), `${run.id} is ${run.status} (${run.reason})`);
    assert.equal(run.status, expect.status[run.id] ?? 'Succeeded', `${run.id}: ${run.reason}`);
    assert.ok(run.startedAt && run.finishedAt && run.finishedAt >= run.startedAt, `${run.id} has its start and end (${run.startedAt} .. ${run.finishedAt})`);
    const steps = Number(run.params.steps);
    const lines = await stdoutOf(b.client, run.id);
    const expected = [...Array.from({ length: steps }, (_, i) => `step ${i + 1}/${steps}`), 'done'];
    assert.deepEqual(lines.filter((l) => /^(step \d+\/\d+|done)$/.test(l)), expected, `${run.id}: every line exactly once, in order`);
    const metrics = await b.client.getMetrics(run.id);
    assert.deepEqual(metrics.series[0]?.points.map((p) => p.step), Array.from({ length: steps }, (_, i) => i + 1), `${run.id}: every metric exactly once`);
  }
  const ran = readFileSync(ledger, 'utf8').split('\n').filter(Boolean).sort();
  assert.deepEqual(ran, runs.map((r) => r.id).sort(), 'each recorded run ran exactly once, and nothing ran unrecorded');
  assert.equal(executorOf(b).unrecordedEnds, 0, 'no run is left with an unrecorded end');
  return runs;
}

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ty-faults-ws-'));
  writeFileSync(join(dir, 'train.py'), TRAIN);
  return dir;
}

describe('store faults: PostgreSQL stopped and started again under a running backend', function () {
  this.timeout(600_000);
  let pg: PostgresHandle;
  let ws: string;
  let scratch: string;
  const homes: string[] = [];
  const backends: TestBackend[] = [];

  before(async () => {
    pg = await startPostgres({ durable: true }); // acknowledged commits survive halt(), as on a real server
    ws = workspace();
    scratch = mkdtempSync(join(tmpdir(), 'ty-faults-'));
  });
  after(async () => {
    for (const b of backends) await b.close().catch(() => undefined);
    await pg?.resume().catch(() => undefined); // a test that failed mid-outage
    await pg?.stop();
    for (const h of homes) removeHome(h);
    rmSync(ws, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  /** a fresh database on this suite's server, and a backend on it */
  async function backendOn(db: string, home?: string): Promise<TestBackend> {
    const url = new URL(pg.url);
    if (!home) {
      const admin = new (await import('pg')).default.Client({ connectionString: pg.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.end();
    }
    url.pathname = `/${db}`;
    const b = await startTestBackend({ store: { url: url.toString(), connectTimeoutMs: 2000 }, executor: { local: { maxConcurrent: 2, podman: 'never' } } }, home);
    backends.push(b);
    if (!home) homes.push(b.home);
    return b;
  }

  it('mid-sweep, with a schedule firing: the backend recovers by itself; runs, logs and fires end consistent and nothing runs twice', async () => {
    const b = await backendOn('faults_live');
    const ledger = join(scratch, 'live.ledger');
    await saveWorkspace(b.client, { dir: ws, model: 'faulty', version: 'v1' });
    // the run whose end falls in the outage with its logs already stored (first: it takes a slot at once)
    const quiet = (await b.client.launch({ model: 'faulty', params: { ledger, steps: 2, sleep: 0, quiet: 8 } })).runs[0];
    const sweep = await b.client.launch({ model: 'faulty', params: { ledger, steps: 20, sleep: 0.15 }, sweep: { seed: [1, 2, 3, 4, 5] } });
    const schedule = (await b.client.launch({ model: 'faulty', params: { ledger, steps: 1, sleep: 0 }, schedule: '*/2 * * * * *' })).schedule!;
    const sweepIds = sweep.runs.map((r) => r.id);

    await until('the quiet run to store its last line, and sweep runs to be running with logs', async () => {
      const q = await b.client.getRun(quiet.id);
      if (q.status !== 'Running' || !(await stdoutOf(b.client, quiet.id)).includes('done')) return false;
      const running = (await Promise.all(sweepIds.map((id) => b.client.getRun(id)))).filter((r) => r.status === 'Running');
      return running.length > 0 && (await stdoutOf(b.client, running[0].id)).length > 0;
    }, 120_000);
    await until('a schedule fire to be launched before the outage', async () => (await b.client.listRuns({ schedule: schedule.id })).items.length > 0, 60_000);

    await pg.halt();
    // the quiet run exits while the store is down: its end cannot be written, it keeps its slot
    await until('the quiet run to end with its end unrecorded', () => executorOf(b).unrecordedEnds >= 1, 60_000, () => `parked: ${executorOf(b).unrecordedEnds}`);
    assert.ok(existsSync(join(b.home, 'runs', quiet.id, 'exit')), 'its process is over');
    await pg.resume();

    // the backend carries on by itself: the parked end is derived again, the queue moves, the schedule fires again
    await until('the quiet run to be recorded', async () => FINAL.has((await b.client.getRun(quiet.id)).status), 60_000);
    const resumedAt = new Date().toISOString();
    await until('a schedule fire after the outage', async () => ((await b.client.listSchedules()).items.find((s) => s.id === schedule.id)?.lastFireAt ?? '') > resumedAt, 60_000);
    // a fire whose launch the outage cut is relaunched once it is a minute old (STALE_FIRE_MS): allow for it
    const openFires = (before: string) =>
      b.server.ctx.db.selectFrom('schedule_fires').selectAll().where('launched_at', 'is', null).where('error', 'is', null).where('fired_at', '<', before).execute();
    await until('no schedule fire claimed before the store came back left open', async () => (await openFires(resumedAt)).length === 0, 180_000);
    await b.client.deleteSchedule(schedule.id);
    await until('every run final', async () => (await allRuns(b.client)).every((r) => FINAL.has(r.status)), 240_000, async () =>
      (await allRuns(b.client)).filter((r) => !FINAL.has(r.status)).map((r) => `${r.id}=${r.status}`).join(', '),
    );

    const runs = await assertConsistent(b, ledger, { status: {} });
    assert.equal(runs.length, sweepIds.length + 1 + runs.filter((r) => r.scheduleId === schedule.id).length);
    const fires = await b.server.ctx.db.selectFrom('schedule_fires').selectAll().where('schedule_id', '=', schedule.id).execute();
    const scheduled = runs.filter((r) => r.scheduleId === schedule.id);
    assert.equal(scheduled.length, fires.filter((f) => f.launched_at).length, 'one run per launched fire');
    assert.ok(scheduled.length >= 2, `fires before and after the outage (${scheduled.length})`);
    const q = runs.find((r) => r.id === quiet.id)!;
    assert.ok(Date.parse(q.finishedAt!) - Date.parse(q.startedAt!) >= 8000, 'the end is the run’s own, not when the store came back');
    await b.close(); // its scheduler must not fail through the next test's outage
  });

  it('a backend restarted after the outage derives the ends it could not record, at start', async () => {
    let b = await backendOn('faults_restart');
    const ledger = join(scratch, 'restart.ledger');
    await saveWorkspace(b.client, { dir: ws, model: 'faulty', version: 'v1' });
    const runs = (await b.client.launch({ model: 'faulty', params: { ledger, steps: 2, sleep: 0, quiet: 6 }, sweep: { seed: [1, 2] } })).runs;
    await until('both runs to store their last line', async () => {
      for (const r of runs) if ((await b.client.getRun(r.id)).status !== 'Running' || !(await stdoutOf(b.client, r.id)).includes('done')) return false;
      return true;
    }, 120_000);
    await pg.halt();
    await until('both ends to be unrecorded', () => executorOf(b).unrecordedEnds === 2, 60_000, () => `parked: ${executorOf(b).unrecordedEnds}`);
    const home = b.home;
    await b.close(); // down with the ends unrecorded: the store still has both Running
    await pg.resume();
    b = await backendOn('faults_restart', home);
    await until('both runs final', async () => (await allRuns(b.client)).every((r) => FINAL.has(r.status)), 60_000);
    await assertConsistent(b, ledger, { status: {} });
    await b.close();
  });
});

describe('store faults: the SQLite store’s disk fills up, then frees', function () {
  this.timeout(600_000);
  let mnt: string;
  let ws: string;
  let b: TestBackend | undefined;
  let mounted = false;

  before(function () {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs for the store and needs root (the CI container runs as root)');
    mnt = mkdtempSync(join(tmpdir(), 'ty-sqlite-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
    mounted = true;
    ws = workspace();
  });
  after(async () => {
    await b?.close().catch(() => undefined);
    if (b) removeHome(b.home);
    if (mounted) execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
    rmSync(ws, { recursive: true, force: true });
  });

  it('runs and logs end consistent once space is back, and nothing runs twice', async () => {
    mkdirSync(join(mnt, 'store'));
    const ballast = join(mnt, 'ballast');
    b = await startTestBackend({ store: { url: `sqlite:${join(mnt, 'store', 'trainyard.db')}` }, executor: { local: { maxConcurrent: 2, podman: 'never' } } });
    const ledger = join(ws, 'ledger'); // written by the runs, after the save
    const client = b.client;
    await saveWorkspace(client, { dir: ws, model: 'faulty', version: 'v1' });
    const busy = (await client.launch({ model: 'faulty', params: { ledger, steps: 40, sleep: 0.1 } })).runs[0];
    const quiet = (await client.launch({ model: 'faulty', params: { ledger, steps: 2, sleep: 0, quiet: 6 } })).runs[0];
    await until('the quiet run to store its last line and the busy one to log', async () =>
      (await stdoutOf(client, quiet.id)).includes('done') && (await stdoutOf(client, busy.id)).length > 0, 120_000);

    // fill the file system: the WAL is emptied first, so the next write must grow a file
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(b.server.ctx.db);
    const free = () => statfsSync(mnt).bavail * statfsSync(mnt).bsize;
    writeFileSync(ballast, Buffer.alloc(free()));
    assert.ok(free() < 4096, `the file system is full (${free()} bytes free)`);
    await assert.rejects(
      b.server.ctx.db.insertInto('run_logs').values({ run_id: busy.id, seq: 1e9, stream: 'system', text: 'x'.repeat(65536), time: 'now' }).execute(),
      /full/,
      'a write fails with disk full',
    );
    await until('the quiet run to end with its end unrecorded', () => executorOf(b!).unrecordedEnds >= 1, 60_000, () => `parked: ${executorOf(b!).unrecordedEnds}`);
    const busyLinesBefore = (await stdoutOf(client, busy.id)).length;
    await until('the busy run to print lines the store cannot take', () => {
      const out = readFileSync(join(b!.home, 'runs', busy.id, 'stdout.log'), 'utf8');
      return out.split('\n').filter(Boolean).length > busyLinesBefore + 10;
    }, 60_000);
    assert.equal((await client.getRun(quiet.id)).status, 'Running', 'not final while the store cannot take the end');
    rmSync(ballast);

    await until('both runs final', async () => (await allRuns(client)).every((r) => FINAL.has(r.status)), 120_000, async () =>
      (await allRuns(client)).map((r) => `${r.id}=${r.status}`).join(', '),
    );
    await assertConsistent(b, ledger, { status: {} });
  });
});
