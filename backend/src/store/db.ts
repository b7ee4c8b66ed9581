/**
 * The store connection: one Kysely instance over SQLite (embedded default,
 * Node's built-in node:sqlite) or PostgreSQL (pg). Repositories in each
 * feature folder take this `Db` and write portable Kysely queries:
 * timestamps are ISO-8601 text, JSON is text, booleans are 0/1 integers.
 */
import { DatabaseSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';

export interface ModelsTable {
  name: string;
  team: string | null;
  description: string | null;
  created_by: string;
  created_at: string;
}
export interface VersionsTable {
  model: string;
  label: string;
  image_ref: string;
  digest: string;
  base_image: string | null;
  base_digest: string | null;
  entrypoints: string;
  git: string;
  size_bytes: number;
  file_count: number;
  created_by: string;
  created_at: string;
}
export interface SnapshotsTable {
  id: string;
  model: string;
  version: string | null;
  manifest: string;
  status: string;
  missing: string;
  error: string | null;
  /** the ErrorCode of a failed build (column added by 0007_snapshot_error_code) */
  error_code?: string | null;
  created_by: string;
  created_at: string;
}
export interface SweepsTable {
  id: string;
  model: string;
  version: string;
  axes: string;
  size: number;
  parallelism: number;
  created_at: string;
}
export interface LaunchesTable {
  idempotency_key: string;
  request_hash: string;
  result: string | null;
  created_at: string;
}
export interface RunsTable {
  id: string;
  model: string;
  version: string;
  entrypoint: string;
  command: string;
  params: string;
  hardware: string;
  /** the HardwareProfile as it was at launch (config may change later) */
  hardware_spec: string;
  status: string;
  reason: string | null;
  sweep_id: string | null;
  sweep_index: number | null;
  schedule_id: string | null;
  executor: string;
  executor_ref: string | null;
  max_duration_seconds: number;
  exit_code: number | null;
  created_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  price_per_hour: number;
  estimated_cost: number | null;
  actual_cost: number | null;
  next_log_seq: number;
  /** the training run whose artifacts this run reads (a column added by 0004_run_artifacts) */
  input_run_id?: string | null;
}
export interface RunLogsTable {
  run_id: string;
  seq: number;
  stream: string;
  text: string;
  time: string;
}
export interface MetricsTable {
  run_id: string;
  /** the log line it was parsed from: re-parsing after a restart cannot duplicate it */
  seq: number;
  name: string;
  step: number | null;
  value: number;
  time: string;
}
export interface SchedulesTable {
  id: string;
  model: string;
  cron: string;
  timezone: string;
  request: string;
  /** 'latest' (the column's default) | 'pinned', added by 0008_schedule_version_policy */
  version_policy?: string;
  enabled: number;
  next_fire_at: string | null;
  last_fire_at: string | null;
  /** why the last fire launched nothing, or null (0009) */
  last_error?: string | null;
  created_by: string;
  created_at: string;
}
export interface ScheduleFiresTable {
  schedule_id: string;
  tick: string;
  /** when the fire was claimed */
  fired_at: string;
  /** when its launch was recorded; with error null too, the fire is open (claimed, not launched) (0009) */
  launched_at?: string | null;
  /** why it launched nothing (a refusal: not retried) (0009) */
  error?: string | null;
}

export interface TokensTable {
  id: string;
  /** person | run (the data-home admin token is not stored) */
  kind: string;
  user_name: string;
  admin: number;
  run_id: string | null;
  /** a run token for every run of this schedule (run_id is then null) */
  schedule_id: string | null;
  /** sha256 hex of the whole secret */
  hash: string;
  hint: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface RunOutputsTable {
  run_id: string;
  /** stored | none | failed (a run without a row: pending while it runs, none once final) */
  state: string;
  ref: string | null;
  digest: string | null;
  total_bytes: number;
  note: string | null;
  created_at: string;
}
export interface RunArtifactsTable {
  run_id: string;
  path: string;
  size: number;
  sha256: string;
}

export interface Tables {
  models: ModelsTable;
  versions: VersionsTable;
  snapshots: SnapshotsTable;
  sweeps: SweepsTable;
  launches: LaunchesTable;
  runs: RunsTable;
  run_logs: RunLogsTable;
  metrics: MetricsTable;
  schedules: SchedulesTable;
  schedule_fires: ScheduleFiresTable;
  run_outputs: RunOutputsTable;
  run_artifacts: RunArtifactsTable;
  tokens: TokensTable;
}

export type Db = Kysely<Tables>;
export type Dialect = 'sqlite' | 'postgres';

export interface Connection {
  db: Db;
  dialect: Dialect;
  close(): Promise<void>;
}

const NO_OP_STATEMENT = { reader: false, all: () => [], run: () => ({ changes: 0, lastInsertRowid: 0 }), iterate: () => [][Symbol.iterator]() };

/** node:sqlite's StatementSync wrapped in the shape Kysely's SqliteDialect expects. */
function sqliteDatabase(path: string) {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const raw = new DatabaseSync(path);
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;');
  const norm = (params: ReadonlyArray<unknown>) =>
    params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p)) as Array<null | number | bigint | string | Uint8Array>;
  return {
    close: () => raw.close(),
    prepare(sql: string) {
      // SQLite itself rolls a transaction back on some errors (SQLITE_FULL: disk full); Kysely's ROLLBACK
      // after it would then fail with "no transaction is active" and hide the first error
      if (/^\s*rollback\s*$/i.test(sql) && !raw.isTransaction) return NO_OP_STATEMENT;
      const stmt = raw.prepare(sql);
      return {
        reader: stmt.columns().length > 0,
        all: (params: ReadonlyArray<unknown>) => stmt.all(...norm(params)),
        run: (params: ReadonlyArray<unknown>) => {
          const r = stmt.run(...norm(params));
          return { changes: Number(r.changes), lastInsertRowid: r.lastInsertRowid };
        },
        iterate: (params: ReadonlyArray<unknown>) => stmt.iterate(...norm(params)),
      };
    },
  };
}

// int8 (bigint, count(*)) as JS numbers: our values stay far below 2^53
pg.types.setTypeParser(20, (v: string) => Number(v));
pg.types.setTypeParser(1700, (v: string) => Number(v));

/**
 * The store did not answer in time (a PostgreSQL statement or connection
 * timeout): what to tell the caller, or null for any other error. The HTTP
 * layer answers it with a 503.
 */
export function storeTimeout(err: unknown): string | null {
  const e = err as { code?: string; message?: string } | null;
  if (e?.code === '57014' && /statement timeout/.test(e.message ?? '')) return 'the store did not finish the query within store.statementTimeoutMs; try again, or ask the operator to look at the database';
  if (/timeout exceeded when trying to connect|Connection terminated due to connection timeout/.test(e?.message ?? '')) {
    return 'the store did not accept a connection within store.connectTimeoutMs; try again, or ask the operator to look at the database';
  }
  return null;
}

/** PostgreSQL only: how long to wait for a connection, and the statement_timeout of each */
export interface StoreTimeouts {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

export const DEFAULT_STORE_TIMEOUTS: StoreTimeouts = { connectTimeoutMs: 10_000, statementTimeoutMs: 30_000 };

export function connect(url: string, timeouts: StoreTimeouts = DEFAULT_STORE_TIMEOUTS): Connection {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    const database = sqliteDatabase(path || ':memory:');
    const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: database as never }) });
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({
      connectionString: url,
      max: 10,
      connectionTimeoutMillis: timeouts.connectTimeoutMs,
      statement_timeout: timeouts.statementTimeoutMs,
      // a transaction left open by a stuck caller cannot hold its locks forever
      idle_in_transaction_session_timeout: timeouts.statementTimeoutMs * 2,
    });
    pool.on('error', (err) => console.error(`trainyard: an idle PostgreSQL connection failed (${err.message}); the pool opens a new one`));
    // pg-pool listens for errors only on idle clients: a connection lost during a query (the server
    // stopped) would emit 'error' with no listener and end the process. The query itself fails, and
    // its caller sees that; this listener only keeps the process alive.
    pool.on('connect', (client) => client.on('error', () => undefined));
    const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  throw new Error(`store.url must start with sqlite: or postgres:// (got ${JSON.stringify(url)})`);
}
