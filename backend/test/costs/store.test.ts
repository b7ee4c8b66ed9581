/** Cost per model per ISO week: the same GROUP BY on SQLite and PostgreSQL, and the range rules. */
import assert from 'node:assert/strict';
import type { Connection } from '../../src/store/db';
import type { RunRow } from '../../src/runs/store';
import { costsByWeek, nextDay } from '../../src/costs/store';
import { resolveRange } from '../../src/costs/routes';
import { newId } from '../../src/ids';
import { STORE_KINDS, freshMigratedStore } from '../../../test/helpers/stores';

function runRow(over: Partial<RunRow>): RunRow {
  return {
    id: newId('run'), model: 'eta', version: 'v1', entrypoint: 'train', command: 'python train.py', params: '{}',
    hardware: 'cpu-small', hardware_spec: '{}', status: 'Succeeded', reason: null, sweep_id: null, sweep_index: null, schedule_id: null,
    executor: 'local', executor_ref: null, max_duration_seconds: 3600, exit_code: 0, created_by: 'me', created_at: '2025-03-01T00:00:00.000Z',
    started_at: null, finished_at: null, price_per_hour: 1, estimated_cost: 0.5, actual_cost: null, next_log_seq: 0, ...over,
  };
}

for (const kind of STORE_KINDS) {
  describe(`costs per model per ISO week on ${kind}`, () => {
    let store: Awaited<ReturnType<typeof freshMigratedStore>>;
    let conn: Connection;
    before(async () => {
      store = await freshMigratedStore(kind);
      conn = store.conn;
      const rows = [
        // week of Monday 2025-03-03: a Monday-morning and a Sunday-night run of eta (2 h + 0.5 h)
        runRow({ started_at: '2025-03-03T00:00:00.000Z', finished_at: '2025-03-03T02:00:00.000Z', actual_cost: 2 }),
        runRow({ started_at: '2025-03-09T23:00:00.000Z', finished_at: '2025-03-09T23:30:00.000Z', actual_cost: 0.5 }),
        // the next Monday belongs to the next week; this one still runs
        runRow({ status: 'Running', started_at: '2025-03-10T00:00:00.000Z', estimated_cost: 0.75 }),
        // never started: counts by created_at, as pending
        runRow({ status: 'Pending', created_at: '2025-03-11T08:00:00.000Z', estimated_cost: 0.25 }),
        // cancelled before it started: finished, no cost
        runRow({ status: 'Cancelled', created_at: '2025-03-12T08:00:00.000Z', finished_at: '2025-03-12T08:01:00.000Z' }),
        // another model, across a year boundary: 2024-12-30 is the Monday of ISO week 2025-W01
        runRow({ model: 'ranker', started_at: '2025-01-01T12:00:00.000Z', finished_at: '2025-01-01T13:00:00.000Z', actual_cost: 0.2 }),
        // outside the range
        runRow({ started_at: '2024-06-01T00:00:00.000Z', finished_at: '2024-06-01T01:00:00.000Z', actual_cost: 99 }),
      ];
      for (const r of rows) await conn.db.insertInto('runs').values(r).execute();
    });
    after(async () => {
      await store.drop();
    });

    it('adds up runs, hours, actual cost and pending estimates per model per week in one query', async () => {
      const items = await costsByWeek(conn, { from: '2024-12-01', to: '2025-03-31' });
      assert.deepEqual(items, [
        { weekStart: '2024-12-30', model: 'ranker', runs: 1, pendingRuns: 0, hours: 1, actualCost: 0.2, estimatedPending: 0 },
        { weekStart: '2025-03-03', model: 'eta', runs: 2, pendingRuns: 0, hours: 2.5, actualCost: 2.5, estimatedPending: 0 },
        { weekStart: '2025-03-10', model: 'eta', runs: 3, pendingRuns: 2, hours: 0, actualCost: 0, estimatedPending: 1 },
      ]);
    });

    it('filters by model and by inclusive dates', async () => {
      assert.deepEqual((await costsByWeek(conn, { from: '2024-12-01', to: '2025-03-31', model: 'ranker' })).map((w) => w.model), ['ranker']);
      const sundayOnly = await costsByWeek(conn, { from: '2025-03-09', to: '2025-03-09' });
      assert.deepEqual(sundayOnly.map((w) => [w.weekStart, w.runs, w.actualCost]), [['2025-03-03', 1, 0.5]]);
      assert.deepEqual(await costsByWeek(conn, { from: '2030-01-01', to: '2030-01-31' }), []);
    });
  });
}

describe('cost ranges', () => {
  it('defaults to the last 12 weeks, from a Monday, up to today', () => {
    assert.deepEqual(resolveRange(undefined, undefined, new Date('2025-03-12T15:00:00Z')), { from: '2024-12-23', to: '2025-03-12' });
    assert.deepEqual(resolveRange(undefined, '2025-03-09'), { from: '2024-12-16', to: '2025-03-09' });
    assert.equal(nextDay('2024-02-28'), '2024-02-29');
  });

  it('refuses impossible dates, reversed ranges and more than 2 years, saying the expected form', () => {
    assert.throws(() => resolveRange('2025-02-30', '2025-03-01'), /querystring\.from: must be a date as YYYY-MM-DD/);
    assert.throws(() => resolveRange('2025-03-02', '2025-03-01'), /after querystring\.to/);
    assert.throws(() => resolveRange('2020-01-01', '2025-01-01'), /longer than 2 years/);
    assert.deepEqual(resolveRange('2023-01-01', '2024-12-31'), { from: '2023-01-01', to: '2024-12-31' });
  });
});
