/** The same repositories against SQLite and PostgreSQL. */
import assert from 'node:assert/strict';
import type { Connection } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';
import { ensureModel, getModel, getVersion, insertVersion, listModels, listVersions } from '../../src/models/store';
import { appendLogs, getLogs, getMetrics, listRuns, type RunRow } from '../../src/runs/store';
import { newId } from '../../src/ids';
import { STORE_KINDS, freshMigratedStore } from '../../../test/helpers/stores';
import type { Version } from '@trainyard/shared';

function version(label: string, createdAt: string): Version {
  return {
    model: 'eta', label, imageRef: `oci-layout:/x:eta:${label}`, digest: `sha256:${'a'.repeat(64)}`, baseImage: null, baseDigest: null,
    entrypoints: { train: 'python train.py' }, git: { sha: null, dirty: false }, sizeBytes: 5_000_000_000, fileCount: 3, createdBy: 'me', createdAt,
  };
}

function runRow(i: number, over: Partial<RunRow> = {}): RunRow {
  return {
    id: newId('run'), model: 'eta', version: 'v1', entrypoint: 'train', command: 'python train.py', params: JSON.stringify({ i }),
    hardware: 'cpu-small', hardware_spec: '{}', status: 'Pending', reason: null, sweep_id: null, sweep_index: null, schedule_id: null,
    executor: 'local', executor_ref: null, max_duration_seconds: 60, exit_code: null, created_by: 'me', created_at: new Date().toISOString(),
    started_at: null, finished_at: null, price_per_hour: 0.1, estimated_cost: null, actual_cost: null, next_log_seq: 0, ...over,
  };
}

for (const kind of STORE_KINDS) {
  describe(`store repositories on ${kind}`, () => {
    let store: Awaited<ReturnType<typeof freshMigratedStore>>;
    let conn: Connection;
    before(async () => {
      store = await freshMigratedStore(kind);
      conn = store.conn;
      await migrate(conn.db); // a second run is a no-op
    });
    after(async () => {
      await store.drop();
    });

    it('keeps versions immutable and finds the latest', async () => {
      await ensureModel(conn.db, 'eta', 'me', { team: 'maps' });
      await ensureModel(conn.db, 'eta', 'someone-else'); // no-op
      assert.equal((await getModel(conn.db, 'eta'))!.createdBy, 'me');
      assert.equal(await insertVersion(conn.db, version('v1', '2026-01-01T00:00:00.000Z')), true);
      assert.equal(await insertVersion(conn.db, version('v2', '2026-01-02T00:00:00.000Z')), true);
      const again = { ...version('v1', '2026-01-03T00:00:00.000Z'), digest: `sha256:${'b'.repeat(64)}` };
      assert.equal(await insertVersion(conn.db, again), false);
      assert.equal((await getVersion(conn.db, 'eta', 'v1'))!.digest, `sha256:${'a'.repeat(64)}`, 'the stored version is unchanged');
      assert.equal((await getVersion(conn.db, 'eta', null))!.label, 'v2');
      assert.equal((await listVersions(conn.db, 'eta')).items.length, 2);
      assert.equal((await getVersion(conn.db, 'eta', 'v1'))!.sizeBytes, 5_000_000_000, 'bigint sizes round-trip as numbers');
      const models = (await listModels(conn.db)).items;
      assert.equal(models[0].versionCount, 2);
      assert.equal(models[0].latestVersion, 'v2');
    });

    it('pages runs newest first with a cursor and filters', async () => {
      const rows = Array.from({ length: 25 }, (_, i) => runRow(i, { status: i % 5 === 0 ? 'Failed' : 'Pending' }));
      for (const r of rows) await conn.db.insertInto('runs').values(r).execute();
      const sorted = [...rows].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id)).map((r) => r.id);
      const p1 = await listRuns(conn.db, { limit: 10 });
      assert.deepEqual(p1.items.map((r) => r.id), sorted.slice(0, 10));
      const p2 = await listRuns(conn.db, { limit: 10, cursor: p1.nextCursor! });
      assert.deepEqual(p2.items.map((r) => r.id), sorted.slice(10, 20));
      const p3 = await listRuns(conn.db, { limit: 10, cursor: p2.nextCursor! });
      assert.equal(p3.items.length, 5);
      assert.equal(p3.nextCursor, null);
      // time leads the order: a run recorded with an id that is not time-sortable still sorts by when it was created
      const adopted = runRow(26, { id: 'run_00000000000000000000000000000000', created_at: new Date(Date.now() + 60_000).toISOString() });
      await conn.db.insertInto('runs').values(adopted).execute();
      const top = await listRuns(conn.db, { limit: 2 });
      assert.deepEqual(top.items.map((r) => r.id), [adopted.id, sorted[0]]);
      assert.deepEqual((await listRuns(conn.db, { limit: 2, cursor: top.nextCursor! })).items.map((r) => r.id), sorted.slice(1, 3));
      await conn.db.deleteFrom('runs').where('id', '=', adopted.id).execute();
      const failed = await listRuns(conn.db, { limit: 100, status: 'Failed' });
      assert.equal(failed.items.length, 5);
      assert.ok(failed.items.every((r) => r.status === 'Failed'));
    });

    it('appends logs with consecutive seqs and metrics exactly once', async () => {
      const r = runRow(99);
      await conn.db.insertInto('runs').values(r).execute();
      const first = await appendLogs(conn.db, r.id, [{ stream: 'stdout', text: 'a' }, { stream: 'stderr', text: 'b' }], [{ line: 0, name: 'loss', step: 1, value: 0.5 }], { offset: 4 });
      const second = await appendLogs(conn.db, r.id, [{ stream: 'stdout', text: 'c' }], [{ line: 0, name: 'loss', step: 2, value: 0.25 }]);
      assert.equal(first, 0);
      assert.equal(second, 2);
      const lines = await getLogs(conn.db, r.id, -1, 100);
      assert.deepEqual(lines.map((l) => [l.seq, l.stream, l.text]), [[0, 'stdout', 'a'], [1, 'stderr', 'b'], [2, 'stdout', 'c']]);
      assert.deepEqual((await getLogs(conn.db, r.id, 0, 1)).map((l) => l.text), ['b']);
      const { series: metrics, nextCursor } = await getMetrics(conn.db, r.id);
      assert.equal(nextCursor, null);
      assert.deepEqual(metrics, [{ name: 'loss', points: [{ step: 1, value: 0.5, time: metrics[0].points[0].time }, { step: 2, value: 0.25, time: metrics[0].points[1].time }] }]);
      const row = await conn.db.selectFrom('runs').select(['executor_ref', 'next_log_seq']).where('id', '=', r.id).executeTakeFirstOrThrow();
      assert.equal(row.executor_ref, JSON.stringify({ offset: 4 }));
      assert.equal(Number(row.next_log_seq), 3);
    });
  });
}
