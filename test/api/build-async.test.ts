/**
 * POST /v1/snapshots/:id/build answers at once (202, the snapshot building) instead of holding the
 * request for the whole build; the client follows the snapshot until it is built or failed.
 */
import assert from 'node:assert/strict';
import { ApiError, TrainyardClient, type Snapshot } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { COUNTER, removeHome, startTestBackend, type TestBackend } from '../helpers/backend';

class WatchedClient extends TrainyardClient {
  readonly started: Snapshot[] = [];
  polls = 0;
  override async startBuild(id: string) {
    const s = await super.startBuild(id);
    this.started.push(s);
    return s;
  }
  override async getSnapshot(id: string) {
    this.polls++;
    return super.getSnapshot(id);
  }
}

describe('an asynchronous build', () => {
  let b: TestBackend;
  before(async () => {
    b = await startTestBackend();
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
  });

  it('answers 202 with the snapshot building; the save follows it to the version; a second build answers 200 built', async () => {
    const c = new WatchedClient({ baseUrl: b.url, token: b.token });
    const saved = await saveWorkspace(c, { dir: COUNTER, model: 'counter', version: 'a1', cacheDir: false });
    assert.equal(saved.version.label, 'a1');
    assert.equal(c.started.length, 1);
    assert.equal(c.started[0].status, 'building');
    const id = c.started[0].id;
    const res = await fetch(`${b.url}/v1/snapshots/${id}/build`, { method: 'POST', headers: { Authorization: `Bearer ${b.token}`, 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as Snapshot).status, 'built');
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
    assert.ok(c.polls >= 1, 'the client followed the snapshot');
    const snap = await b.client.getSnapshot(c.started[0].id);
    assert.equal(snap.status, 'failed');
    assert.equal(snap.errorCode, 'invalid_request');
    assert.match(snap.error ?? '', /smoke broke/);
    await assert.rejects(b.client.getVersion('counter', 'a2'), (e: ApiError) => e.status === 404);
  });
});
