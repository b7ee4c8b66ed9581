/**
 * Every keyset page is an index range in the list's order, on both stores:
 * the query plan of each page query (first page and a cursor page, under each
 * filter) may neither scan the table nor sort, and a cursor page must seek with
 * the (created_at, id)-like row value in the index condition. A page that falls
 * back to a scan or a sort costs more the deeper it is; this test fails then.
 * PostgreSQL plans an empty table as cheaply by scanning, so its sessions turn
 * seq scans and sorts off: a plan that still has one has no index to use.
 */
import assert from 'node:assert/strict';
import { sql, CompiledQuery, type Kysely } from 'kysely';
import type { Connection, Db } from '../../src/store/db';
import { logsPageQuery, METRIC_CURSOR, metricsPageQuery, RUN_CURSOR, runsPageQuery, type RunFilter } from '../../src/runs/store';
import { MODEL_CURSOR, modelsPageQuery, VERSION_CURSOR, versionsPageQuery } from '../../src/models/store';
import { SCHEDULE_CURSOR, schedulesPageQuery } from '../../src/schedules/service';
import { encodeCursor } from '../../src/store/keyset';
import { STORE_KINDS, freshMigratedStore } from '../../../test/helpers/stores';

interface PageCase {
  name: string;
  /** the page query, compiled */
  query(db: Db): CompiledQuery;
  /** what the index condition of a cursor page holds (null: a first page) */
  seek: { sqlite: RegExp; postgres: RegExp } | null;
  /** the columns of its equality filters, which must be in the index condition */
  filters: string[];
}

const T = '2026-11-30T10:00:00.000Z';
const RUN = 'run_0000000000abcdefghijkl';
const runSeek = { sqlite: /\(created_at,id\)<\(\?,\?\)/, postgres: /Index Cond: .*ROW\(created_at, id\) < ROW\(/ };

function runCases(): PageCase[] {
  const filters: Array<[string, Partial<RunFilter>, string[]]> = [
    ['all runs', {}, []],
    ['a model', { model: 'eta' }, ['model']],
    ['a status', { status: 'Failed' }, ['status']],
    ['a model and a status', { model: 'eta', status: 'Failed' }, ['model', 'status']],
    ['a sweep', { sweep: 'swp_0000000000abcdefghijkl' }, ['sweep_id']],
    ['a schedule', { schedule: 'sch_0000000000abcdefghijkl' }, ['schedule_id']],
    ['a person', { createdBy: 'alice' }, ['created_by']],
  ];
  return filters.flatMap(([name, f, cols]) => [
    { name: `runs of ${name}, first page`, query: (db: Db) => runsPageQuery(db, { ...f, limit: 100 }).compile(), seek: null, filters: cols },
    { name: `runs of ${name}, a cursor page`, query: (db: Db) => runsPageQuery(db, { ...f, limit: 100, cursor: encodeCursor(RUN_CURSOR, [T, RUN]) }).compile(), seek: runSeek, filters: cols },
  ]);
}

/** the other paged lists: models, versions, schedules, metric points and log lines */
function otherCases(): PageCase[] {
  const schedules = (db: Db, cursor?: string) => schedulesPageQuery(db, { limit: 100, cursor }).compile();
  return [
    { name: 'models, first page', query: (db) => modelsPageQuery(db, { limit: 100 }).compile(), seek: null, filters: [] },
    { name: 'models, a cursor page', query: (db) => modelsPageQuery(db, { limit: 100, cursor: encodeCursor(MODEL_CURSOR, ['eta']) }).compile(), seek: { sqlite: /USING (COVERING )?INDEX \S+ \(name>\?\)/, postgres: /Index Cond: \(name > / }, filters: [] },
    { name: 'versions, first page', query: (db) => versionsPageQuery(db, 'eta', { limit: 100 }).compile(), seek: null, filters: ['model'] },
    {
      name: 'versions, a cursor page',
      query: (db) => versionsPageQuery(db, 'eta', { limit: 100, cursor: encodeCursor(VERSION_CURSOR, [T, 'v1']) }).compile(),
      seek: { sqlite: /\(created_at,label\)<\(\?,\?\)/, postgres: /Index Cond: .*ROW\(created_at, label\) < ROW\(/ },
      filters: ['model'],
    },
    { name: 'schedules, first page', query: (db) => schedules(db), seek: null, filters: [] },
    { name: 'schedules, a cursor page', query: (db) => schedules(db, encodeCursor(SCHEDULE_CURSOR, [RUN])), seek: { sqlite: /\(id>\?\)/, postgres: /Index Cond: \(id > / }, filters: [] },
    { name: 'metric points, first page', query: (db) => metricsPageQuery(db, RUN, { limit: 10000 }).compile(), seek: null, filters: ['run_id'] },
    {
      name: 'metric points, a cursor page',
      query: (db) => metricsPageQuery(db, RUN, { limit: 10000, cursor: encodeCursor(METRIC_CURSOR, ['5000']) }).compile(),
      seek: { sqlite: /run_id=\? AND seq>\?/, postgres: /Index Cond: .*seq > / },
      filters: ['run_id'],
    },
    { name: 'log lines after a seq', query: (db) => logsPageQuery(db, RUN, 5000, 10000).compile(), seek: { sqlite: /run_id=\? AND seq>\?/, postgres: /Index Cond: .*seq > / }, filters: ['run_id'] },
  ];
}

async function sqlitePlan(db: Kysely<any>, q: CompiledQuery): Promise<string> {
  const rows = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${q.sql}`, [...q.parameters]));
  return rows.rows.map((r) => r.detail).join('\n');
}

async function postgresPlan(db: Kysely<any>, q: CompiledQuery): Promise<string> {
  return db.connection().execute(async (c) => {
    await sql`SET enable_seqscan = off`.execute(c);
    await sql`SET enable_sort = off`.execute(c);
    await sql`SET enable_bitmapscan = off`.execute(c);
    const rows = await c.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN ${q.sql}`, [...q.parameters]));
    await sql`RESET ALL`.execute(c);
    return rows.rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

function checkPlan(kind: (typeof STORE_KINDS)[number], plan: string, c: PageCase): void {
  const { seek, filters } = c;
  if (kind === 'sqlite') {
    assert.doesNotMatch(plan, /^SCAN \w+$/m, `a full scan:\n${plan}`);
    assert.doesNotMatch(plan, /TEMP B-TREE/, `a sort:\n${plan}`);
    assert.match(plan, /^(SEARCH|SCAN) \w+ USING (COVERING )?INDEX/m, `no index:\n${plan}`);
    for (const col of filters) assert.match(plan, new RegExp(`USING (COVERING )?INDEX \\w+ \\(.*\\b${col}=\\?`), `${col} is not in the index condition:\n${plan}`);
  } else {
    assert.doesNotMatch(plan, /Seq Scan/, `a full scan:\n${plan}`);
    assert.doesNotMatch(plan, /Sort/, `a sort:\n${plan}`);
    assert.match(plan, /Index (Only )?Scan/, `no index scan:\n${plan}`);
    assert.doesNotMatch(plan, /Filter:/, `rows read and dropped:\n${plan}`);
  }
  if (seek) assert.match(plan, seek[kind], `the cursor is not an index seek:\n${plan}`);
}

for (const kind of STORE_KINDS) {
  describe(`page query plans on ${kind}`, () => {
    let store: Awaited<ReturnType<typeof freshMigratedStore>>;
    let conn: Connection;
    before(async () => {
      store = await freshMigratedStore(kind);
      conn = store.conn;
    });
    after(async () => store.drop());

    for (const c of [...runCases(), ...otherCases()]) {
      it(`${c.name}: an index range in page order`, async () => {
        const q = c.query(conn.db);
        const plan = kind === 'sqlite' ? await sqlitePlan(conn.db, q) : await postgresPlan(conn.db, q);
        checkPlan(kind, plan, c);
      });
    }
  });
}
