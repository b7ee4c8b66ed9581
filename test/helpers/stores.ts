/**
 * Fresh, empty stores for tests: a SQLite file in a temp dir, or a new
 * database on the PostgreSQL server the global test setup started
 * (TRAINYARD_TEST_PG_URL). A missing PostgreSQL is an error, never a skip.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connect, type Connection } from '../../backend/src/store/db';
import { migrate } from '../../backend/src/store/migrations';

export const STORE_KINDS = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export interface TestStore {
  url: string;
  drop(): Promise<void>;
}

export async function freshStore(kind: StoreKind): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ty-sqlite-'));
    return { url: `sqlite:${join(dir, 'test.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const admin = process.env.TRAINYARD_TEST_PG_URL;
  if (!admin) throw new Error('TRAINYARD_TEST_PG_URL is not set: the global test setup (test/setup/global.ts) starts PostgreSQL; run tests through npm test or mocha with the root .mocharc');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A fresh store of that kind, connected and migrated; drop() closes and removes it. */
export async function freshMigratedStore(kind: StoreKind): Promise<{ conn: Connection; drop(): Promise<void> }> {
  const store = await freshStore(kind);
  const conn = connect(store.url);
  await migrate(conn.db);
  return {
    conn,
    async drop() {
      await conn.close();
      await store.drop();
    },
  };
}
