/**
 * POST /v1/snapshots/:id/build starts the build and does not hold the request for the whole of it:
 * with no ?wait it answers at once (202, the snapshot building); with ?wait=N it answers when the
 * build ends (200, built or failed), or after N seconds (202), or at once when the server closes.
 * The client's save waits in the answer, and follows a longer build by reading the snapshot.
 */
import assert from 'node:assert/strict';
import { ApiError, TrainyardClient, type Snapshot } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { COUNTER, removeHome, startTestBackend, type TestBackend } from '../helpers/backend';

class WatchedClient extends TrainyardClient {
  readonly started: Array<Snapshot & { ms: number }> = [];
  polls = 0;
  override async startBuild(id: string, query: { wait?: number } = {}) {
    const t = performance.now();
    const s = await super.startBuild(id, query);
    this.started.push({ ...s, ms: performance.now() - t });
    return s;
  }
  override async getSnapshot(id: string) {
    this.polls++;
    return super.getSnapshot(id);
  }
}

const post = (b: TestBackend, path: string) => fetch(`${b.url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${b.token}`, 'Content-Type': 'application/json' }, body: '{}' });

describe('an asynchronous build', function () {
  this.timeout(120_000);
  let b: TestBackend;
  before(async () => {
    b = await startTestBackend();
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
  });

  it('without ?wait answers 202 with the snapshot building; ?wait answers 200 once it is built; the save waits in the answer, with no reads', async () => {
    const model = 'counter';
    const snap = await b.client.createSnapshot({ model, version: 'a0', files: [], entrypoints: { train: 'python train.py' } });
    const res = await post(b, `/v1/snapshots/${snap.id}/build`);
    assert.equal(res.status, 202);
    assert.equal(((await res.json()) as Snapshot).status, 'building');
    const waited = await post(b, `/v1/snapshots/${snap.id}/build?wait=30`);
    assert.equal(waited.status, 200, 'the answer waited for the build that was running');
    assert.equal(((await waited.json()) as Snapshot).status, 'built');

    const c = new WatchedClient({ baseUrl: b.url, token: b.token });
    const saved = await saveWorkspace(c, { dir: COUNTER, model, version: 'a1', cacheDir: false });
    assert.equal(saved.version.label, 'a1');
    assert.equal(c.started.length, 1);
    assert.equal(c.started[0].status, 'built', 'the start answered with the build ended');
    assert.equal(c.polls, 0, 'no status reads');
    const again = await post(b, `/v1/snapshots/${c.started[0].id}/build`);
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as Snapshot).status, 'built');
  });

  it('?wait outside 0-60 seconds is refused with the field named', async () => {
    const snap = await b.client.createSnapshot({ model: 'counter', version: 'a9', files: [], entrypoints: { train: 'python train.py' } });
    for (const wait of ['61', '-1', 'soon']) {
      const res = await post(b, `/v1/snapshots/${snap.id}/build?wait=${wait}`);
      assert.equal(res.status, 400, wait);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /wait/, wait);
    }
  });

  it('a failed build ends on the snapshot with its error and kind, and the client reports it as that error', async () => {
    const c = new WatchedClient({ baseUrl: b.url, token: b.token });
    const err = await saveWorkspace(c, { dir: COUNTER, model: 'counter', version: 'a2', cacheDir: false, selfTest: 'echo smoke broke; exit 3' }).then(
      () => assert.fail('the self-test fails'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_request');
    assert.match(err.message, /self-test failed/);
    assert.equal(c.started[0].status, 'failed', 'the start answered with the failure');
    const snap = await b.client.getSnapshot(c.started[0].id);
    assert.equal(snap.status, 'failed');
    assert.equal(snap.errorCode, 'invalid_request');
    assert.match(snap.error ?? '', /smoke broke/);
    await assert.rejects(b.client.getVersion('counter', 'a2'), (e: ApiError) => e.status === 404);
  });

  it('a build longer than the wait is answered 202 when the wait ends, and the client reads the snapshot until it is built', async () => {
    // a request timeout of 2 s: the start waits 1 s (half of it); the self-test takes 3
    const c = new WatchedClient({ baseUrl: b.url, token: b.token, timeoutMs: 2000 });
    const saved = await saveWorkspace(c, { dir: COUNTER, model: 'counter', version: 'a3', cacheDir: false, selfTest: 'sleep 3' });
    assert.equal(saved.version.label, 'a3');
    assert.equal(c.started[0].status, 'building');
    assert.ok(c.started[0].ms >= 900, `the start's answer waited ~1 s (${Math.round(c.started[0].ms)} ms)`);
    assert.ok(c.polls >= 1, 'then the client read the snapshot');
  });

  it('a server that closes answers a waiting build at once, still building, and lets the build end and be recorded before it has closed', async () => {
    const own = await startTestBackend();
    let again: TestBackend | undefined;
    try {
      const c = new WatchedClient({ baseUrl: own.url, token: own.token });
      const snap = await c.createSnapshot({ model: 'counter', version: 'a4', files: [], entrypoints: { train: 'python train.py' }, selfTest: 'sleep 4' });
      const answer = post(own, `/v1/snapshots/${snap.id}/build?wait=60`);
      await new Promise((r) => setTimeout(r, 500));
      const t = performance.now();
      const closed = own.close();
      const res = await answer;
      const ms = performance.now() - t;
      assert.equal(res.status, 202);
      assert.equal(((await res.json()) as Snapshot).status, 'building');
      // not when the build ends (its self-test sleeps 4 s), nor after the 60 s wait
      assert.ok(ms < 2000, `answered ${Math.round(ms)} ms after the close began`);
      await closed;
      // the build ended before the close did: a backend started on the same data home finds it built
      again = await startTestBackend({}, own.home);
      assert.equal((await again.client.getSnapshot(snap.id)).status, 'built');
      assert.equal((await again.client.getVersion('counter', 'a4')).label, 'a4');
    } finally {
      await again?.close();
      removeHome(own.home);
    }
  });
});
