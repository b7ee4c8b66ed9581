/** Tokens in the store, and authentication against it, on SQLite and PostgreSQL. */
import assert from 'node:assert/strict';
import type { AppContext } from '../../src/context';
import { authenticate } from '../../src/auth/caller';
import { getToken, insertToken, listTokens, revokeToken } from '../../src/auth/store';
import { issueRunToken, revokeRunTokens } from '../../src/auth/run-tokens';
import { hashSecret } from '../../src/auth/secret';
import { HttpError } from '../../src/errors';
import { STORE_KINDS, freshMigratedStore } from '../../../test/helpers/stores';

const HOME_TOKEN = `ty_${'h'.repeat(43)}`;

async function refused(p: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof HttpError, String(err));
    assert.equal(err.status, status);
    assert.match(err.message, message);
    return true;
  });
}

for (const kind of STORE_KINDS) {
  describe(`tokens on ${kind}`, () => {
    let store: Awaited<ReturnType<typeof freshMigratedStore>>;
    let ctx: AppContext;
    before(async () => {
      store = await freshMigratedStore(kind);
      ctx = { db: store.conn.db, token: HOME_TOKEN, user: 'owner-of-home' } as AppContext;
    });
    after(async () => store.drop());

    it('keeps only the hash, and authenticates the secret as its person', async () => {
      const { row, secret } = await insertToken(ctx.db, { kind: 'person', user: 'alice', admin: false, runId: null, createdBy: 'root', expiresAt: null });
      const stored = await getToken(ctx.db, row.id);
      assert.equal(stored!.hash, hashSecret(secret));
      const all = JSON.stringify(await ctx.db.selectFrom('tokens').selectAll().execute());
      assert.ok(!all.includes(secret.slice(8)), 'the secret is not stored');
      const caller = await authenticate(ctx, secret);
      assert.deepEqual(caller, { user: 'alice', admin: false, kind: 'person', tokenId: row.id, runId: null, scheduleId: null, expiresAt: null });
    });

    it('authenticates the data-home token as an admin named for the data home owner', async () => {
      const caller = await authenticate(ctx, HOME_TOKEN);
      assert.equal(caller.user, 'owner-of-home');
      assert.equal(caller.admin, true);
      assert.equal(caller.kind, 'home');
    });

    it('refuses unknown, malformed, revoked and expired tokens with a reason', async () => {
      const { secret: other } = await insertToken(ctx.db, { kind: 'person', user: 'carol', admin: false, runId: null, createdBy: 'root', expiresAt: null });
      await ctx.db.deleteFrom('tokens').where('hash', '=', hashSecret(other)).execute();
      await refused(authenticate(ctx, other), 401, /invalid bearer token/);
      await refused(authenticate(ctx, 'tyk_nonsense'), 401, /invalid bearer token/);
      await refused(authenticate(ctx, HOME_TOKEN + 'x'), 401, /invalid bearer token/);

      const { row, secret } = await insertToken(ctx.db, { kind: 'person', user: 'bob', admin: true, runId: null, createdBy: 'root', expiresAt: null });
      assert.equal((await authenticate(ctx, secret)).admin, true);
      assert.equal(await revokeToken(ctx.db, row.id), true);
      assert.equal(await revokeToken(ctx.db, row.id), false, 'a second revoke changes nothing');
      await refused(authenticate(ctx, secret), 401, new RegExp(`token ${row.id} was revoked`));

      const soon = new Date(Date.now() + 60_000).toISOString();
      const exp = await insertToken(ctx.db, { kind: 'person', user: 'dan', admin: false, runId: null, createdBy: 'root', expiresAt: soon });
      assert.equal((await authenticate(ctx, exp.secret)).expiresAt, soon);
      await refused(authenticate(ctx, exp.secret, new Date(Date.now() + 120_000)), 401, /expired at/);
    });

    it("lists people's tokens, newest first, for everyone or for one person", async () => {
      const all = await listTokens(ctx.db);
      assert.ok(all.length >= 3);
      assert.ok(all.every((t) => t.kind === 'person'));
      const sorted = [...all].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
      assert.deepEqual(all.map((t) => t.id), sorted.map((t) => t.id));
      assert.deepEqual((await listTokens(ctx.db, 'alice')).map((t) => t.user_name), ['alice']);
    });

    it('issues run tokens bound to one run, named for its creator, and revokes them all at once', async () => {
      const runId = 'run_0000000000aaaaaaaaaaaa';
      await ctx.db.insertInto('runs').values({
        id: runId, model: 'm', version: 'v1', entrypoint: 'train', command: 'x', params: '{}', hardware: 'cpu-small', hardware_spec: '{}', status: 'Running',
        reason: null, sweep_id: null, sweep_index: null, schedule_id: null, executor: 'local', executor_ref: null, max_duration_seconds: 60, exit_code: null,
        created_by: 'alice', created_at: new Date().toISOString(), started_at: null, finished_at: null, price_per_hour: 0, estimated_cost: null, actual_cost: null, next_log_seq: 0,
      } as never).execute();
      const a = await issueRunToken(ctx.db, runId);
      const b = await issueRunToken(ctx.db, runId, { ttlSeconds: 3600 });
      assert.match(a, /^tyr_/);
      const caller = await authenticate(ctx, a);
      assert.deepEqual({ ...caller, tokenId: null }, { user: 'alice', admin: false, kind: 'run', tokenId: null, runId, scheduleId: null, expiresAt: null });
      assert.ok((await authenticate(ctx, b)).expiresAt);
      assert.equal((await listTokens(ctx.db)).some((t) => t.kind === 'run'), false, 'run tokens are not in the people list');
      assert.equal(await revokeRunTokens(ctx.db, runId), 2);
      await refused(authenticate(ctx, a), 401, /revoked/);
      await refused(authenticate(ctx, b), 401, /revoked/);
      await refused(issueRunToken(ctx.db, 'run_0000000000zzzzzzzzzzzz'), 404, /no run/);
    });
  });
}
