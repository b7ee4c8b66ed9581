/**
 * PostgreSQL connections and statements are bounded: a statement over
 * store.statementTimeoutMs is cancelled by the server, and a server that
 * accepts the TCP connection but never answers fails the connect after
 * store.connectTimeoutMs. Both are recognised as "the store did not answer" (a 503).
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { sql } from 'kysely';
import { connect, storeTimeout } from '../../src/store/db';
import { resolveConfig } from '../../src/config';
import { freshStore, type TestStore } from '../../../test/helpers/stores';

async function elapsed<T>(p: Promise<T>): Promise<{ ms: number; err: unknown }> {
  const t = Date.now();
  try {
    await p;
  } catch (err) {
    return { ms: Date.now() - t, err };
  }
  assert.fail('expected the store call to fail');
}

describe('PostgreSQL timeouts', () => {
  let store: TestStore;
  before(async () => {
    store = await freshStore('postgres');
  });
  after(async () => store.drop());

  it('cancels a statement over statementTimeoutMs, and the connection stays usable', async () => {
    const conn = connect(store.url, { connectTimeoutMs: 5000, statementTimeoutMs: 300 });
    try {
      const { ms, err } = await elapsed(sql`select pg_sleep(3)`.execute(conn.db));
      assert.match((err as Error).message, /statement timeout/);
      assert.ok(ms < 2500, `took ${ms} ms`);
      assert.match(storeTimeout(err)!, /within store\.statementTimeoutMs/);
      assert.deepEqual((await sql<{ x: number }>`select 1 as x`.execute(conn.db)).rows, [{ x: 1 }]);
      // a short statement is not affected
      await sql`select pg_sleep(0.05)`.execute(conn.db);
    } finally {
      await conn.close();
    }
  });

  it('gives up on a server that never answers after connectTimeoutMs', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s)); // accepts, says nothing
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const conn = connect(`postgres://nobody@127.0.0.1:${port}/none`, { connectTimeoutMs: 400, statementTimeoutMs: 30000 });
    try {
      const { ms, err } = await elapsed(sql`select 1`.execute(conn.db));
      assert.ok(ms >= 350 && ms < 3000, `took ${ms} ms`);
      assert.match(storeTimeout(err)!, /within store\.connectTimeoutMs/, String(err));
    } finally {
      await conn.close().catch(() => {});
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('reads both from store.* in the config, with defaults', () => {
    const { url: _url, ...defaults } = resolveConfig({}, '/tmp').store;
    assert.deepEqual(defaults, { connectTimeoutMs: 10000, statementTimeoutMs: 30000 });
    const c = resolveConfig({ store: { url: 'postgres://x@h/db', connectTimeoutMs: 1500, statementTimeoutMs: 5000 } }, '/tmp').store;
    assert.deepEqual([c.connectTimeoutMs, c.statementTimeoutMs], [1500, 5000]);
    assert.throws(() => resolveConfig({ store: { statementTimeoutMs: 5 } }, '/tmp'), /statementTimeoutMs/);
  });

  it('leaves other errors alone', () => {
    assert.equal(storeTimeout(new Error('relation "nope" does not exist')), null);
    assert.equal(storeTimeout(null), null);
  });
});
