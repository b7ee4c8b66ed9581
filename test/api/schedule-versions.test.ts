/**
 * Which version a schedule's fires run, chosen by the user and stored on the schedule, on SQLite
 * and PostgreSQL: 'latest' (the default) resolves the version at each fire, 'pinned' runs one
 * version always (the one given, or the latest at creation). The Kubernetes side of the same
 * meaning (the CronJob re-rendered on a new version) is in test/k8s/backend.test.ts.
 */
import assert from 'node:assert/strict';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { COUNTER, removeHome, sleep, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';
import { STORE_KINDS, freshStore, type TestStore } from '../helpers/stores';

for (const kind of STORE_KINDS) {
  describe(`schedule version policy on ${kind}`, () => {
    let store: TestStore;
    let b: TestBackend;
    before(async () => {
      store = await freshStore(kind);
      b = await startTestBackend({ store: { url: store.url } });
      await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1' });
    });
    after(async () => {
      await b?.close();
      if (b) removeHome(b.home);
      await store?.drop();
    });

    /** makes the schedule due now; the backend's loop fires it within a second */
    async function fireNow(id: string, tick: string): Promise<string> {
      const before = (await b.client.listRuns({ schedule: id })).items.length;
      await b.server.ctx.db.updateTable('schedules').set({ next_fire_at: tick }).where('id', '=', id).execute();
      const deadline = Date.now() + 10_000;
      let runs = (await b.client.listRuns({ schedule: id })).items;
      while (runs.length === before && Date.now() < deadline) {
        await sleep(100);
        runs = (await b.client.listRuns({ schedule: id })).items;
      }
      assert.equal(runs.length, before + 1, 'one fire');
      await waitForRuns(b.client, runs.map((r) => r.id));
      return runs[0].version; // newest first
    }

    it('latest by default, pinned by a version or by versionPolicy; stored, listed, and honoured at each fire', async () => {
      const latest = (await b.client.launch({ model: 'counter', params: { steps: 1, sleep: 0 }, schedule: '0 0 1 1 *' })).schedule!;
      const byVersion = (await b.client.launch({ model: 'counter', version: 'v1', params: { steps: 1, sleep: 0 }, schedule: '0 0 1 1 *' })).schedule!;
      const byPolicy = (await b.client.launch({ model: 'counter', params: { steps: 1, sleep: 0 }, schedule: '0 0 1 1 *', versionPolicy: 'pinned' })).schedule!;
      assert.deepEqual([latest.versionPolicy, latest.request.version], ['latest', undefined]);
      assert.deepEqual([byVersion.versionPolicy, byVersion.request.version], ['pinned', 'v1']);
      assert.deepEqual([byPolicy.versionPolicy, byPolicy.request.version], ['pinned', 'v1'], 'pinned to the latest at creation');
      const listed = new Map((await b.client.listSchedules()).items.map((s) => [s.id, s.versionPolicy]));
      assert.deepEqual([listed.get(latest.id), listed.get(byVersion.id), listed.get(byPolicy.id)], ['latest', 'pinned', 'pinned']);

      assert.equal(await fireNow(latest.id, '2020-01-01T00:00:00.000Z'), 'v1');
      await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v2' });
      assert.equal(await fireNow(latest.id, '2021-01-01T00:00:00.000Z'), 'v2', 'latest: the version saved since');
      assert.equal(await fireNow(byVersion.id, '2021-01-01T00:00:00.000Z'), 'v1', 'pinned by version');
      assert.equal(await fireNow(byPolicy.id, '2021-01-01T00:00:00.000Z'), 'v1', 'pinned by policy');
      for (const s of [latest, byVersion, byPolicy]) await b.client.deleteSchedule(s.id);
    });

    it('refuses latest with a version, and versionPolicy on a launch that is not a schedule', async () => {
      await assert.rejects(b.client.launch({ model: 'counter', version: 'v1', schedule: '0 3 * * *', versionPolicy: 'latest' }), /versionPolicy "latest" .* takes no version/);
      await assert.rejects(b.client.launch({ model: 'counter', versionPolicy: 'pinned' }), /versionPolicy applies to schedules only/);
      assert.equal((await b.client.listSchedules()).items.length, 0);
    });
  });
}
