/**
 * People and tokens through the API on SQLite and PostgreSQL: per-person tokens made by the
 * admin (the data-home token), createdBy on everything, cancel and delete for owners and
 * admins only, /v1/me, and run tokens refused on every route but their own run's.
 */
import assert from 'node:assert/strict';
import { ApiError, TrainyardClient } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { COUNTER, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';
import { STORE_KINDS, freshStore, type TestStore } from '../helpers/stores';
import { registeredRoutes } from '../../backend/src/auth/hook';
import { issueRunToken, revokeRunTokens } from '../../backend/src/auth/run-tokens';

async function apiError(p: Promise<unknown>, status: number, message?: RegExp): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, status, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected HTTP ${status}`);
}

for (const kind of STORE_KINDS) {
  describe(`people and tokens on ${kind}`, () => {
    let store: TestStore;
    let b: TestBackend;
    let admin: TrainyardClient;
    let alice: TrainyardClient;
    let bob: TrainyardClient;
    const as = (token: string) => new TrainyardClient({ baseUrl: b.url, token });

    before(async () => {
      store = await freshStore(kind);
      b = await startTestBackend({ store: { url: store.url } });
      admin = b.client;
      alice = as((await admin.createToken({ user: 'alice', expires: '90d' })).token);
      bob = as((await admin.createToken({ user: 'bob' })).token);
      await saveWorkspace(alice, { dir: COUNTER, model: 'counter', version: 'v1' });
    });
    after(async () => {
      await b?.close();
      if (b) removeHome(b.home);
      await store?.drop();
    });

    it('says who the token belongs to: the data-home token is an admin, a person token is its person', async () => {
      const me = await admin.me();
      assert.equal(me.admin, true);
      assert.equal(me.kind, 'home');
      assert.equal(me.user, b.server.ctx.user);
      const a = await alice.me();
      assert.equal(a.user, 'alice');
      assert.equal(a.admin, false);
      assert.equal(a.kind, 'person');
      assert.match(a.tokenId ?? '', /^tok_/);
      const days = (Date.parse(a.expiresAt!) - Date.now()) / 86_400_000;
      assert.ok(days > 89.9 && days <= 90, `expires in ${days} days`);
    });

    it('documents /v1/me, /v1/tokens and the createdBy run filter in /openapi.json', async () => {
      const doc = (await (await fetch(`${b.url}/openapi.json`, { headers: { Authorization: `Bearer ${b.token}` } })).json()) as {
        paths: Record<string, Record<string, { parameters?: Array<{ name: string }>; responses: Record<string, unknown> }>>;
      };
      assert.ok(doc.paths['/v1/me'].get.responses['200']);
      assert.ok(doc.paths['/v1/tokens'].post.responses['201']);
      assert.ok(doc.paths['/v1/tokens'].post.responses['403']);
      assert.ok(doc.paths['/v1/tokens'].get);
      assert.ok(doc.paths['/v1/tokens/{id}'].delete.responses['200']);
      assert.ok(doc.paths['/v1/runs/{id}/cancel'].post.responses['403']);
      assert.ok(doc.paths['/v1/schedules/{id}'].delete.responses['403']);
      assert.ok(doc.paths['/v1/runs'].get.parameters!.some((p) => p.name === 'createdBy'));
    });

    it('records who saved the model and version', async () => {
      const model = await alice.getModel('counter');
      assert.equal(model.createdBy, 'alice');
      assert.equal((await alice.getVersion('counter', 'v1')).createdBy, 'alice');
    });

    it('two people with their own tokens see their own names on their runs, and cannot cancel each other\'s', async () => {
      const slow = { model: 'counter', params: { steps: 200, sleep: 0.1 } };
      const aRun = (await alice.launch(slow)).runs[0];
      const bRun = (await bob.launch(slow)).runs[0];
      assert.equal(aRun.createdBy, 'alice');
      assert.equal(bRun.createdBy, 'bob');
      assert.equal((await bob.getRun(aRun.id)).createdBy, 'alice', 'anyone signed in can read');

      await apiError(bob.cancelRun(aRun.id), 403, new RegExp(`run ${aRun.id} belongs to alice: only alice or an admin can cancel it \\(you are signed in as bob\\)`));
      await apiError(alice.cancelRun(bRun.id), 403, /belongs to bob/);
      assert.ok(!['Cancelled'].includes((await alice.getRun(aRun.id)).status), 'the refused cancel changed nothing');

      assert.equal((await alice.cancelRun(aRun.id)).id, aRun.id);
      assert.equal((await admin.cancelRun(bRun.id)).id, bRun.id, 'an admin may cancel anyone\'s run');
      const [a, bb] = await waitForRuns(alice, [aRun.id, bRun.id]);
      assert.equal(a.status, 'Cancelled');
      assert.equal(bb.status, 'Cancelled');

      const mine = await alice.listRuns({ createdBy: 'alice' });
      assert.ok(mine.items.length >= 1);
      assert.ok(mine.items.every((r) => r.createdBy === 'alice'));
      assert.ok(!mine.items.some((r) => r.id === bRun.id));
      assert.deepEqual((await bob.listRuns({ createdBy: 'bob' })).items.map((r) => r.id), [bRun.id]);
    });

    it('lets only the creator or an admin delete a schedule', async () => {
      const res = await alice.launch({ model: 'counter', schedule: '0 3 * * *' });
      const schedule = res.schedule!;
      assert.equal(schedule.createdBy, 'alice');
      await apiError(bob.deleteSchedule(schedule.id), 403, /belongs to alice/);
      assert.ok((await bob.listSchedules()).items.some((s) => s.id === schedule.id));
      assert.deepEqual(await alice.deleteSchedule(schedule.id), { id: schedule.id, deleted: true });
      const other = (await bob.launch({ model: 'counter', schedule: '0 4 * * *' })).schedule!;
      await admin.deleteSchedule(other.id);
    });

    it('lets only admins make tokens, shows each person their own, never a secret, and revokes', async () => {
      await apiError(alice.createToken({ user: 'mallory', admin: true }), 403, /only an admin can create tokens/);
      await apiError(admin.createToken({ user: 'bad name' }), 400, /body\.user/);
      await apiError(admin.createToken({ user: 'x', expires: '90 days' }), 400, /body\.expires/);
      const made = await admin.createToken({ user: 'carol', admin: true });
      assert.match(made.token, /^tyk_[0-9A-Za-z]{36}$/);
      assert.equal(made.hint, made.token.slice(0, 8));
      const carol = as(made.token);
      assert.equal((await carol.me()).admin, true);

      const all = await admin.listTokens();
      assert.deepEqual(new Set(all.items.map((t) => t.user)), new Set(['alice', 'bob', 'carol']));
      assert.ok(!JSON.stringify(all).includes(made.token.slice(8)), 'lists never hold a secret');
      const own = await alice.listTokens();
      assert.deepEqual(own.items.map((t) => t.user), ['alice']);

      await apiError(alice.revokeToken(made.id), 403, /belongs to carol/);
      const revoked = await carol.revokeToken(made.id);
      assert.ok(revoked.revokedAt);
      await apiError(carol.me(), 401, /was revoked/);
      await apiError(admin.revokeToken(made.id), 409, /already revoked/);
      await apiError(admin.revokeToken('tok_0000000000nonexistent0'), 404);
    });

    it('refuses a run token on every route but its own run\'s opted-in ones, checked over all registered routes', async () => {
      const [aRun, bRun] = (await alice.launch({ model: 'counter', params: { steps: 1 }, sweep: { i: [1, 2] } })).runs;
      const token = await issueRunToken(b.server.ctx.db, aRun.id);
      const runClient = as(token);
      const routes = registeredRoutes(b.server.ctx).filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
      assert.ok(routes.length >= 20, `only ${routes.length} routes recorded`);
      const allowed: string[] = [];
      for (const r of routes) {
        if (r.url === '/healthz' || r.url === '/' || r.url.startsWith('/assets/')) continue; // public
        for (const id of [aRun.id, bRun.id]) {
          const path = r.url.replace(':id', id).replace(/:[a-z0-9]+/gi, 'x1').replace('*', 'f');
          const res = await fetch(b.url + path, {
            method: r.method,
            headers: { Authorization: `Bearer ${token}`, ...(['POST', 'PUT', 'PATCH'].includes(r.method) ? { 'Content-Type': 'application/json' } : {}) },
            ...(['POST', 'PUT', 'PATCH'].includes(r.method) ? { body: '{}' } : {}),
          });
          const text = await res.text();
          if (res.status === 403) {
            assert.match(text, r.runScoped ? new RegExp(`belongs to run ${aRun.id}, not ${bRun.id}`) : /a run token .* cannot call/, `${r.method} ${path}`);
            continue;
          }
          assert.ok(r.runScoped && id === aRun.id, `${r.method} ${path} answered ${res.status} to a run token: ${text.slice(0, 200)}`);
          allowed.push(`${r.method} ${r.url}`);
        }
      }
      const optedIn = routes.filter((r) => r.runScoped).map((r) => `${r.method} ${r.url}`);
      assert.ok(optedIn.includes('GET /v1/runs/:id'));
      assert.deepEqual(allowed, optedIn, 'a run token passes exactly the opted-in routes, and only for its own run');
      assert.equal((await runClient.getRun(aRun.id)).id, aRun.id);
      assert.equal((await runClient.me().catch((e: ApiError) => e.status)), 403);
      await revokeRunTokens(b.server.ctx.db, aRun.id);
      await apiError(runClient.getRun(aRun.id), 401, /revoked/);
    });
  });
}
