/** Save Model streams its build steps: the client follows them over /v1/events while the build runs. */
import assert from 'node:assert/strict';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { COUNTER, removeHome, startTestBackend, type TestBackend } from '../helpers/backend';

describe('save progress', () => {
  let b: TestBackend;
  before(async () => (b = await startTestBackend()));
  after(async () => {
    await b.close();
    removeHome(b.home);
  });

  it('relays each build step, in order, before the version is saved', async () => {
    const said: string[] = [];
    const res = await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'p1', onProgress: (m) => said.push(m), cacheDir: false });
    const at = (re: RegExp) => said.findIndex((m) => re.test(m));
    const layer = at(/^writing the code layer$/);
    const store = at(/^storing the image in oci-layout:/);
    const saved = at(/^saved counter:p1 /);
    assert.ok(layer >= 0 && store > layer && saved > store, said.join('\n'));
    assert.equal(res.version.label, 'p1');
  });

  it('still saves with a client that cannot follow events', async () => {
    const { events: _e, ...noEvents } = { events: b.client.events.bind(b.client), createSnapshot: b.client.createSnapshot.bind(b.client), putBlob: b.client.putBlob.bind(b.client), buildSnapshot: b.client.buildSnapshot.bind(b.client) };
    const said: string[] = [];
    const res = await saveWorkspace(noEvents, { dir: COUNTER, model: 'counter', version: 'p2', onProgress: (m) => said.push(m), cacheDir: false });
    assert.equal(res.version.label, 'p2');
    assert.ok(!said.some((m) => /^storing the image/.test(m)));
  });
});
