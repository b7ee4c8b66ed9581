/**
 * GET /v1/runs page latency with 100,000 runs.
 *
 * Two real backends (startTestBackend) run side by side: one on SQLite (the
 * embedded default), one on a throwaway PostgreSQL (test/components/postgres,
 * fsync off; or TRAINYARD_BENCH_PG_URL). Both stores get the same 100k
 * generated runs (seed-runs.ts). Three pages: the first page, a deep page
 * (keyset cursor 90% of the way in) and a filtered page (model + status), each at
 * the API's default page size (100).
 *
 * Per iteration, the contenders run back to back (so machine noise hits them
 * alike): the API over keep-alive HTTP on SQLite and on PostgreSQL, and the
 * peers: the store's own page query (runsPageQuery, compiled by Kysely) on a
 * raw node:sqlite prepared statement on the same file and on a raw pg client.
 * Raw = the floor: the query and its row objects, nothing else. API/raw is
 * what routing, auth, validation, row mapping and serialization add; the
 * store-sqlite column (listRuns() called in-process: Kysely + row mapping)
 * splits that between the store layer and the HTTP layer.
 * The "or" peers run the keyset predicate the store used before,
 * `created_at < ? OR (created_at = ? AND id < ?)`, which neither planner turns
 * into an index range: on the deep page they walk 90% of the index. The
 * deep/first ratios say whether a deep page costs what the first does.
 * A correctness check first: API, raw and "or" return the same ids.
 */
import { Agent, request } from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { sql } from 'kysely';
import { removeHome, startTestBackend, type TestBackend } from '../test/helpers/backend';
import { startPostgres, type PostgresHandle } from '../test/components/postgres';
import type { Db } from '../backend/src/store/db';
import { listRuns, RUN_CURSOR, runsPageQuery } from '../backend/src/runs/store';
import { decodeCursor, encodeCursor } from '../backend/src/store/keyset';
import { generateRuns, seedRuns } from './seed-runs';
import { median, ms, percentile, printRatios, ratio, step, table } from './lib';

const N_RUNS = Number(process.env.BENCH_RUNS ?? 100_000);
const ITER = Number(process.env.BENCH_ITER ?? 500);
const WARMUP = 50;
const LIMIT = 100;

interface Page {
  name: string;
  model?: string;
  status?: string;
  cursor?: string;
}

function pageSql(db: Db, p: Page) {
  return runsPageQuery(db, { model: p.model, status: p.status, cursor: p.cursor, limit: LIMIT }).compile();
}

/** the same page with the OR form of the keyset predicate (the store's query before keyset row values) */
function orPageSql(db: Db, p: Page) {
  let q = db.selectFrom('runs').selectAll();
  if (p.model) q = q.where('model', '=', p.model);
  if (p.status) q = q.where('status', '=', p.status);
  if (p.cursor) {
    const [createdAt, id] = decodeCursor(RUN_CURSOR, p.cursor);
    q = q.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
  }
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(LIMIT + 1).compile();
}

function httpGetter(b: TestBackend) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(b.url);
  return (path: string) =>
    new Promise<Buffer>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path, agent, headers: { authorization: `Bearer ${b.token}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET ${path}: ${res.statusCode} ${Buffer.concat(chunks)}`))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
}

const query = (p: Page) => '/v1/runs?' + new URLSearchParams(Object.entries({ model: p.model, status: p.status, cursor: p.cursor }).filter(([, v]) => v) as [string, string][]);

async function main() {
  let pgHandle: PostgresHandle | undefined;
  const pgUrl = process.env.TRAINYARD_BENCH_PG_URL ?? (pgHandle = await step('start PostgreSQL', startPostgres)).url;
  const lite = await startTestBackend();
  const post = await startTestBackend({ store: { url: pgUrl } });
  const pgc = new pg.Client({ connectionString: pgUrl });
  pgc.on('error', () => {});
  try {
    const data = generateRuns(N_RUNS);
    await step(`seed ${N_RUNS} runs into SQLite (Kysely, one transaction)`, () => seedRuns(lite.server.ctx.db, data));
    await step(`seed ${N_RUNS} runs into PostgreSQL (Kysely, one transaction)`, () => seedRuns(post.server.ctx.db, data));
    await step('ANALYZE on PostgreSQL (what autovacuum does after a bulk load)', () => sql`ANALYZE runs`.execute(post.server.ctx.db));

    const raw = new DatabaseSync(lite.server.ctx.config.store.url.slice('sqlite:'.length));
    raw.exec('PRAGMA busy_timeout = 10000');
    await pgc.connect();

    const deep = raw.prepare('SELECT created_at, id FROM runs ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?').get(Math.floor(N_RUNS * 0.9)) as { created_at: string; id: string };
    const deepCursor = encodeCursor(RUN_CURSOR, [deep.created_at, deep.id]);
    const pages: Page[] = [
      { name: 'first' },
      { name: 'deep', cursor: deepCursor },
      { name: 'filtered', model: 'fraud-score', status: 'Failed' },
    ];
    const getLite = httpGetter(lite);
    const getPg = httpGetter(post);
    const rows: Array<Record<string, string>> = [];
    const all = new Map<string, Map<string, number[]>>();
    for (const p of pages) {
      const cl = pageSql(lite.server.ctx.db, p);
      const cp = pageSql(post.server.ctx.db, p);
      const ol = orPageSql(lite.server.ctx.db, p);
      const op = orPageSql(post.server.ctx.db, p);
      const stmt = raw.prepare(cl.sql);
      const orStmt = raw.prepare(ol.sql);
      const params = cl.parameters as Array<string | number>;
      const orParams = ol.parameters as Array<string | number>;
      const contenders: Array<[string, () => Promise<unknown> | unknown]> = [
        ['api-sqlite', () => getLite(query(p))],
        ['store-sqlite', () => listRuns(lite.server.ctx.db, { model: p.model, status: p.status, cursor: p.cursor, limit: LIMIT })],
        ['raw-sqlite', () => stmt.all(...params)],
        ['or-sqlite', () => orStmt.all(...orParams)],
        ['api-pg', () => getPg(query(p))],
        ['raw-pg', () => pgc.query(cp.sql, cp.parameters as unknown[])],
        ['or-pg', () => pgc.query(op.sql, op.parameters as unknown[])],
      ];
      // the same page from every contender
      const ids = (JSON.parse(String(await getLite(query(p)))) as { items: Array<{ id: string }> }).items.map((r) => r.id).join();
      const rawIds = (stmt.all(...params) as Array<{ id: string }>).slice(0, LIMIT).map((r) => r.id).join();
      const orIds = (orStmt.all(...orParams) as Array<{ id: string }>).slice(0, LIMIT).map((r) => r.id).join();
      const pgIds = (JSON.parse(String(await getPg(query(p)))) as { items: Array<{ id: string }> }).items.map((r) => r.id).join();
      const orPgIds = (await pgc.query<{ id: string }>(op.sql, op.parameters as unknown[])).rows.slice(0, LIMIT).map((r) => r.id).join();
      if (ids !== rawIds || ids !== pgIds || ids !== orIds || ids !== orPgIds || ids.split(',').length !== LIMIT) throw new Error(`page ${p.name}: API, raw and or disagree`);

      const times = new Map<string, number[]>(contenders.map(([n]) => [n, []]));
      all.set(p.name, times);
      for (let i = 0; i < WARMUP + ITER; i++) {
        for (const [name, fn] of contenders) {
          const t = performance.now();
          await fn();
          if (i >= WARMUP) times.get(name)!.push(performance.now() - t);
        }
      }
      const row: Record<string, string> = { page: p.name };
      for (const [name] of contenders) row[name] = `${ms(median(times.get(name)!))} / ${ms(percentile(times.get(name)!, 99))}`;
      rows.push(row);
      const t = (n: string, q: number) => percentile(times.get(n)!, q);
      for (const [q, label] of [[50, 'p50'], [99, 'p99']] as const) {
        ratio(`runs-page-${p.name}-${label}`, 'api/raw-sqlite', t('api-sqlite', q) / t('raw-sqlite', q));
        ratio(`runs-page-${p.name}-${label}`, 'api-pg/api-sqlite', t('api-pg', q) / t('api-sqlite', q));
      }
      ratio(`runs-page-${p.name}-p50`, 'api-pg/raw-pg', t('api-pg', 50) / t('raw-pg', 50));
    }
    // does a deep page cost what the first does? (and what it cost with the OR predicate)
    const first = all.get('first')!;
    const deepT = all.get('deep')!;
    for (const [q, label] of [[50, 'p50'], [99, 'p99']] as const) {
      for (const n of ['api-sqlite', 'api-pg', 'raw-sqlite', 'raw-pg', 'or-sqlite', 'or-pg']) {
        ratio(`runs-page-deep-vs-first-${label}`, `${n} deep/first`, percentile(deepT.get(n)!, q) / percentile(first.get(n)!, q));
      }
    }
    table(`GET /v1/runs, ${N_RUNS} runs, page of ${LIMIT}, ${ITER} requests each: p50 / p99 in ms`, rows);
    raw.close();
    printRatios();
  } finally {
    await pgc.end().catch(() => {});
    await lite.close();
    await post.close();
    removeHome(lite.home);
    removeHome(post.home);
    await pgHandle?.stop();
  }
}

await main();
