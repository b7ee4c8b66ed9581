/**
 * Metric ingestion throughput, in metric points per second.
 *
 * Input: generated training output (seeded), about half `::trainyard:metric`
 * lines (loss, accuracy, ... with steps) and half ordinary progress lines.
 *
 * (a) parse-only: parseMetricLine over 1,000,000 lines vs. the peer, bare
 *     JSON.parse of the same metric payloads (pre-sliced; the floor of any
 *     JSON-based metric format).
 * (b) end to end: RunsService.log(runId, lines), the RunSink the executor
 *     calls, in batches of 1000 lines into a real backend's SQLite store
 *     (parse + appendLogs through Kysely), vs. the peer: node:sqlite prepared
 *     statements writing the same rows (log lines, metric points, the run's
 *     next_log_seq) into an identically migrated SQLite file with the same
 *     pragmas, one transaction per batch, rows prepared beforehand.
 * Each contender runs several times, alternating; medians are reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseMetricLine, METRIC_PREFIX } from '@trainyard/shared';
import { removeHome, startTestBackend } from '../test/helpers/backend';
import { connect, type RunsTable } from '../backend/src/store/db';
import { migrate } from '../backend/src/store/migrations';
import { RunsService } from '../backend/src/runs/service';
import { median, perSec, printRatios, prng, ratio, step, table } from './lib';

const PARSE_LINES = Number(process.env.BENCH_PARSE_LINES ?? 1_000_000);
const E2E_LINES = Number(process.env.BENCH_E2E_LINES ?? 200_000);
const BATCH = 1000;
const REPS = Number(process.env.BENCH_REPS ?? 5);
const E2E_REPS = Number(process.env.BENCH_E2E_REPS ?? 5);

function generateLines(n: number): string[] {
  const rnd = prng(7);
  const names = ['loss', 'val_loss', 'accuracy', 'rmse', 'learning_rate', 'grad_norm'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const stepNo = Math.floor(i / 4);
    if (rnd() < 0.5) {
      const m: Record<string, unknown> = { name: names[Math.floor(rnd() * names.length)], value: Math.round(rnd() * 1e6) / 1e6 };
      if (rnd() < 0.9) m.step = stepNo;
      out.push(METRIC_PREFIX + JSON.stringify(m));
    } else {
      out.push(`epoch ${Math.floor(stepNo / 500)} batch ${stepNo % 500}/500 loss=${rnd().toFixed(4)} lr=0.0100 ${(10 + rnd() * 5).toFixed(1)} it/s`);
    }
  }
  return out;
}

function runRow(id: string): RunsTable {
  const t = new Date().toISOString();
  return {
    id, model: 'bench', version: 'v1', entrypoint: 'train', command: 'python train.py', params: '{}', hardware: 'cpu-small',
    hardware_spec: '{}', status: 'Running', reason: null, sweep_id: null, sweep_index: null, schedule_id: null, executor: 'local',
    executor_ref: null, max_duration_seconds: 3600, exit_code: null, created_by: 'bench', created_at: t, started_at: t,
    finished_at: null, price_per_hour: 0.05, estimated_cost: null, actual_cost: null, next_log_seq: 0,
  };
}

function parseOnly(lines: string[], payloads: Array<string | null>) {
  let sum = 0;
  let points = 0;
  const t0 = performance.now();
  for (const line of lines) {
    const m = parseMetricLine(line);
    if (m && !('error' in m)) (sum += m.value), points++;
  }
  const tParse = performance.now() - t0;
  let sum2 = 0;
  const t1 = performance.now();
  for (const p of payloads) if (p !== null) sum2 += (JSON.parse(p) as { value: number }).value;
  const tJson = performance.now() - t1;
  if (Math.abs(sum - sum2) > 1e-6) throw new Error('parser and JSON.parse disagree');
  return { points, tParse, tJson };
}

/** the peer: the same rows through raw prepared statements, one transaction per batch */
function rawWriter(file: string) {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;');
  const insRun = db.prepare('INSERT INTO runs (id, model, version, entrypoint, command, params, hardware, hardware_spec, status, executor, max_duration_seconds, created_by, created_at, price_per_hour, next_log_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)');
  const next = db.prepare('SELECT next_log_seq FROM runs WHERE id = ?');
  const insLog = db.prepare('INSERT INTO run_logs (run_id, seq, stream, text, time) VALUES (?, ?, ?, ?, ?)');
  const insMetric = db.prepare('INSERT INTO metrics (run_id, seq, name, step, value, time) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, seq) DO NOTHING');
  const setNext = db.prepare('UPDATE runs SET next_log_seq = ? WHERE id = ?');
  return {
    newRun(id: string) {
      const r = runRow(id);
      insRun.run(r.id, r.model, r.version, r.entrypoint, r.command, r.params, r.hardware, r.hardware_spec, r.status, r.executor, r.max_duration_seconds, r.created_by, r.created_at, r.price_per_hour);
    },
    batch(runId: string, lines: string[], metrics: Array<{ line: number; name: string; step: number | null; value: number }>) {
      db.exec('BEGIN');
      const first = Number((next.get(runId) as { next_log_seq: number }).next_log_seq);
      const time = new Date().toISOString();
      for (let i = 0; i < lines.length; i++) insLog.run(runId, first + i, 'stdout', lines[i], time);
      for (const m of metrics) insMetric.run(runId, first + m.line, m.name, m.step, m.value, time);
      setNext.run(first + lines.length, runId);
      db.exec('COMMIT');
    },
    close: () => db.close(),
  };
}

async function main() {
  const lines = generateLines(PARSE_LINES);
  const payloads = lines.map((l) => (l.startsWith(METRIC_PREFIX) ? l.slice(METRIC_PREFIX.length) : null));

  // (a) parse-only
  const pTimes: number[] = [];
  const jTimes: number[] = [];
  let points = 0;
  for (let r = 0; r < REPS + 1; r++) {
    const res = parseOnly(lines, payloads);
    points = res.points;
    if (r === 0) continue; // warm-up (JIT)
    pTimes.push(res.tParse);
    jTimes.push(res.tJson);
  }
  const parseRate = points / (median(pTimes) / 1000);
  const jsonRate = points / (median(jTimes) / 1000);

  // (b) end to end through the sink vs raw node:sqlite
  const b = await startTestBackend();
  const peerDir = mkdtempSync(join(tmpdir(), 'ty-bench-raw-'));
  const peerFile = join(peerDir, 'raw.db');
  const conn = connect(`sqlite:${peerFile}`);
  await migrate(conn.db);
  await conn.close();
  const raw = rawWriter(peerFile);
  const sink = new RunsService(b.server.ctx);
  const e2e = lines.slice(0, E2E_LINES);
  const batches: Array<{ lines: string[]; log: Array<{ stream: 'stdout'; text: string }>; metrics: Array<{ line: number; name: string; step: number | null; value: number }> }> = [];
  for (let i = 0; i < e2e.length; i += BATCH) {
    const chunk = e2e.slice(i, i + BATCH);
    const metrics = chunk.flatMap((text, line) => {
      const m = parseMetricLine(text);
      return m && !('error' in m) ? [{ line, ...m }] : [];
    });
    batches.push({ lines: chunk, log: chunk.map((text) => ({ stream: 'stdout' as const, text })), metrics });
  }
  const e2ePoints = batches.reduce((s, x) => s + x.metrics.length, 0);
  const sTimes: number[] = [];
  const rTimes: number[] = [];
  try {
    for (let r = 0; r < E2E_REPS + 1; r++) {
      const id = `run_bench${String(r).padStart(6, '0')}abcdefghijk`;
      await b.server.ctx.db.insertInto('runs').values(runRow(id)).execute();
      const ts = await step(`rep ${r}${r === 0 ? ' (warm-up)' : ''}: sink ${E2E_LINES} lines`, async () => {
        const t = performance.now();
        for (const x of batches) await sink.log(id, x.log);
        return performance.now() - t;
      });
      raw.newRun(id);
      const t = performance.now();
      for (const x of batches) raw.batch(id, x.lines, x.metrics);
      const tr = performance.now() - t;
      if (r === 0) continue;
      sTimes.push(ts);
      rTimes.push(tr);
    }
    const stored = await b.server.ctx.db.selectFrom('metrics').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (Number(stored.n) !== e2ePoints * (E2E_REPS + 1)) throw new Error(`sink stored ${stored.n} metric points, expected ${e2ePoints * (E2E_REPS + 1)}`);
  } finally {
    raw.close();
    await b.close();
    removeHome(b.home);
    rmSync(peerDir, { recursive: true, force: true });
  }
  const sinkRate = e2ePoints / (median(sTimes) / 1000);
  const rawRate = e2ePoints / (median(rTimes) / 1000);

  table('metric ingestion (medians)', [
    { stage: `parse-only, ${PARSE_LINES} lines (${points} points)`, contender: 'parseMetricLine', 'points/s': perSec(parseRate), 'lines/s': perSec(PARSE_LINES / (median(pTimes) / 1000)) },
    { stage: '', contender: 'JSON.parse (floor)', 'points/s': perSec(jsonRate), 'lines/s': '-' },
    { stage: `sink -> SQLite, ${E2E_LINES} lines (${e2ePoints} points)`, contender: 'RunsService.log', 'points/s': perSec(sinkRate), 'lines/s': perSec(E2E_LINES / (median(sTimes) / 1000)) },
    { stage: '', contender: 'raw node:sqlite (floor)', 'points/s': perSec(rawRate), 'lines/s': perSec(E2E_LINES / (median(rTimes) / 1000)) },
  ]);
  ratio('ingest-parse', 'parseMetricLine/json-parse', jsonRate / parseRate); // time per point, ours over the floor
  ratio('ingest-e2e-sqlite', 'sink/raw-sqlite', rawRate / sinkRate);
  printRatios();
}

await main();
