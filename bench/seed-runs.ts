/**
 * Seeds N realistic runs into a backend's store through Kysely, in one
 * transaction, 1000 rows per INSERT (25 columns: under SQLite's 32,766 and
 * PostgreSQL's 65,535 bound parameters). Deterministic (seeded PRNG): 8 models
 * with skewed popularity, a status mix dominated by Succeeded, three hardware
 * profiles, ~40% of runs in sweeps of 3-24 runs, ids time-sortable like
 * newId() over the last 100 days, so keyset pages behave as in production.
 */
import type { Db, RunsTable, SweepsTable } from '../backend/src/store/db';
import { DEFAULT_HARDWARE } from '../backend/src/config';
import { prng } from './lib';

export const MODELS = ['eta-correction', 'demand-forecast', 'pricing-elasticity', 'fraud-score', 'eta-residual', 'supply-balance', 'churn-risk', 'route-ranker'];
const MODEL_WEIGHTS = [30, 20, 12, 10, 10, 8, 6, 4];
const STATUSES: Array<[string, number]> = [['Succeeded', 72], ['Failed', 15], ['Cancelled', 8], ['Running', 3], ['Pending', 2]];
const REGIONS = ['sfo', 'nyc', 'sea', 'lax', 'chi', 'bos'];
const B36 = '0123456789abcdefghijklmnopqrstuvwxyz';

function pick<T>(rnd: () => number, items: Array<[T, number]>): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = rnd() * total;
  for (const [v, w] of items) if ((x -= w) < 0) return v;
  return items[items.length - 1][0];
}

function id(prefix: string, t: number, rnd: () => number): string {
  let r = '';
  for (let i = 0; i < 12; i++) r += B36[Math.floor(rnd() * 36)];
  return `${prefix}_${t.toString(36).padStart(10, '0')}${r}`;
}

export function generateRuns(n: number, seed = 42): { runs: RunsTable[]; sweeps: SweepsTable[] } {
  const rnd = prng(seed);
  const models: Array<[string, number]> = MODELS.map((m, i) => [m, MODEL_WEIGHTS[i]]);
  const start = Date.now() - 100 * 86400_000;
  const step = (100 * 86400_000) / n;
  const runs: RunsTable[] = [];
  const sweeps: SweepsTable[] = [];
  let sweep: { id: string; left: number; index: number; model: string; hw: number } | null = null;
  for (let i = 0; i < n; i++) {
    const t = Math.floor(start + i * step);
    if (!sweep && rnd() < 0.05) {
      const size = 3 + Math.floor(rnd() * 22);
      sweep = { id: id('swp', t, rnd), left: size, index: 0, model: pick(rnd, models), hw: Math.floor(rnd() * 3) };
      sweeps.push({ id: sweep.id, model: sweep.model, version: 'v12', axes: JSON.stringify({ lr: [0.1, 0.05, 0.01], region: REGIONS }), size, parallelism: 4, created_at: new Date(t).toISOString() });
    }
    const model = sweep ? sweep.model : pick(rnd, models);
    const hw = DEFAULT_HARDWARE[sweep ? sweep.hw : rnd() < 0.7 ? 0 : rnd() < 0.8 ? 1 : 2];
    const status = pick(rnd, STATUSES);
    const created = new Date(t).toISOString();
    const startedMs = status === 'Pending' ? null : t + 500 + Math.floor(rnd() * 5000);
    const final = status === 'Succeeded' || status === 'Failed' || status === 'Cancelled';
    const finishedMs = final && startedMs !== null ? startedMs + 30_000 + Math.floor(rnd() * 3_600_000) : null;
    const cost = finishedMs !== null && startedMs !== null ? Math.round(((hw.pricePerHour * (finishedMs - startedMs)) / 3_600_000) * 10000) / 10000 : null;
    runs.push({
      id: id('run', t, rnd),
      model,
      version: `v${1 + Math.floor(rnd() * 12)}`,
      entrypoint: rnd() < 0.9 ? 'train' : 'predict',
      command: 'python train.py',
      params: JSON.stringify({ lr: [0.1, 0.05, 0.01][Math.floor(rnd() * 3)], region: REGIONS[Math.floor(rnd() * REGIONS.length)], epochs: 10 + Math.floor(rnd() * 40) }),
      hardware: hw.name,
      hardware_spec: JSON.stringify(hw),
      status,
      reason: status === 'Failed' ? 'exited with code 1' : status === 'Pending' ? 'waiting: 2 of 2 run slots in use' : status === 'Cancelled' ? 'cancelled by the user' : null,
      sweep_id: sweep ? sweep.id : null,
      sweep_index: sweep ? sweep.index : null,
      schedule_id: null,
      executor: 'local',
      executor_ref: startedMs !== null ? JSON.stringify({ mode: 'process', pid: 1000 + (i % 30000), startTime: String(i), bootId: 'b', stdout: 0, stderr: 0 }) : null,
      max_duration_seconds: 3600,
      exit_code: status === 'Succeeded' ? 0 : status === 'Failed' ? 1 : null,
      created_by: 'bench',
      created_at: created,
      started_at: startedMs === null ? null : new Date(startedMs).toISOString(),
      finished_at: finishedMs === null ? null : new Date(finishedMs).toISOString(),
      price_per_hour: hw.pricePerHour,
      estimated_cost: Math.round(hw.pricePerHour * 10000) / 10000,
      actual_cost: cost,
      next_log_seq: 0,
    });
    if (sweep) {
      sweep.index++;
      if (--sweep.left === 0) sweep = null;
    }
  }
  return { runs, sweeps };
}

export async function seedRuns(db: Db, data: { runs: RunsTable[]; sweeps: SweepsTable[] }): Promise<void> {
  await db.transaction().execute(async (tx) => {
    for (let i = 0; i < data.sweeps.length; i += 1000) await tx.insertInto('sweeps').values(data.sweeps.slice(i, i + 1000)).execute();
    for (let i = 0; i < data.runs.length; i += 1000) await tx.insertInto('runs').values(data.runs.slice(i, i + 1000)).execute();
  });
}
