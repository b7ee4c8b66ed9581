/**
 * A schedule's fire is claimed, then launched: a backend that dies in between (the fault seam
 * TRAINYARD_FAULT_SCHEDULE_CRASH stops the fire there, as a kill would; the backend is then shut
 * down without its scheduler doing anything more) loses no fire: the next backend on the same
 * store launches it once at start, and a fire that was launched before the crash is replayed,
 * not launched twice. Each fire's outcome is on the schedule (lastFireAt, lastError). SQLite and
 * PostgreSQL.
 */
import assert from 'node:assert/strict';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { COUNTER, removeHome, sleep, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';
import { STORE_KINDS, freshStore, type TestStore } from '../helpers/stores';

const FAULT = 'TRAINYARD_FAULT_SCHEDULE_CRASH';

for (const kind of STORE_KINDS) {
  describe(`schedule fires survive a crash between claim and launch on ${kind}`, () => {
    let store: TestStore;
    let b: TestBackend;
    let home: string;
    before(async () => {
      store = await freshStore(kind);
      b = await startTestBackend({ store: { url: store.url } });
      home = b.home;
      await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1' });
    });
    after(async () => {
      delete process.env[FAULT];
      await b?.close();
      if (b) removeHome(home);
      await store?.drop();
    });

    const restart = async () => {
      await b.close();
      delete process.env[FAULT];
      b = await startTestBackend({ store: { url: store.url } }, home);
    };
    const runsOf = async (id: string) => (await b.client.listRuns({ schedule: id })).items;
    const fire = (id: string, tick: string) => b.server.ctx.db.updateTable('schedules').set({ next_fire_at: tick }).where('id', '=', id).execute();
    const openFires = async (id: string) =>
      (await b.server.ctx.db.selectFrom('schedule_fires').selectAll().where('schedule_id', '=', id).execute()).filter((f) => !f.launched_at && !f.error);

    for (const point of ['after-claim', 'after-launch'] as const) {
      it(`killed ${point}: exactly one launch for the tick after a restart, and the outcome recorded`, async () => {
        const s = (await b.client.launch({ model: 'counter', params: { steps: 1, sleep: 0 }, schedule: '0 0 1 1 *' })).schedule!;
        const tick = '2020-01-01T00:00:00.000Z';
        process.env[FAULT] = point;
        await fire(s.id, tick);
        const deadline = Date.now() + 60_000; // a wait that ends as soon as it can: a loaded machine is slow
        // claimed (and, for after-launch, launched too: the launch comes right after the claim)
        const stopped = async () => (await openFires(s.id)).length > 0 && (point === 'after-claim' || (await runsOf(s.id)).length > 0);
        while (!(await stopped()) && Date.now() < deadline) await sleep(50);
        assert.equal((await openFires(s.id)).length, 1, 'the fire is claimed and has no outcome');
        assert.equal((await runsOf(s.id)).length, point === 'after-claim' ? 0 : 1, point === 'after-claim' ? 'nothing launched before the crash' : 'launched just before the crash');
        await sleep(1500); // the dead scheduler does nothing more
        assert.equal((await runsOf(s.id)).length, point === 'after-claim' ? 0 : 1);

        await restart();
        const until = Date.now() + 60_000; // a wait that ends as soon as it can: a loaded machine is slow
        while ((await openFires(s.id)).length > 0 && Date.now() < until) await sleep(50);
        assert.equal((await openFires(s.id)).length, 0, 'the open fire was launched again at start');
        const runs = await runsOf(s.id);
        assert.equal(runs.length, 1, 'exactly once');
        const got = (await b.client.listSchedules()).items.find((x) => x.id === s.id)!;
        assert.equal(got.lastFireAt, tick);
        assert.equal(got.lastError, null);
        await sleep(1500);
        assert.equal((await runsOf(s.id)).length, 1, 'and not again later');
        await waitForRuns(b.client, runs.map((r) => r.id));
        await b.client.deleteSchedule(s.id);
      });
    }

    it('a fire that is refused (its pinned version is gone) records the reason as lastError and is not retried', async () => {
      const s = (await b.client.launch({ model: 'counter', version: 'v1', params: { steps: 1, sleep: 0 }, schedule: '0 0 1 1 *' })).schedule!;
      // a schedule pinned to a version the store no longer has (rewritten in place: versions cannot be deleted through the API)
      await b.server.ctx.db.updateTable('schedules').set({ request: JSON.stringify({ ...s.request, version: 'v404' }) }).where('id', '=', s.id).execute();
      await fire(s.id, '2020-01-01T00:00:00.000Z');
      const deadline = Date.now() + 60_000; // a wait that ends as soon as it can: a loaded machine is slow
      let got = s;
      while (!got.lastError && Date.now() < deadline) {
        await sleep(100);
        got = (await b.client.listSchedules()).items.find((x) => x.id === s.id)!;
      }
      assert.match(got.lastError ?? '', /has no version "v404"/);
      assert.equal(got.lastFireAt, '2020-01-01T00:00:00.000Z');
      assert.equal((await openFires(s.id)).length, 0, 'a refusal closes the fire');
      await restart();
      await sleep(1500);
      assert.equal((await runsOf(s.id)).length, 0);
      await b.client.deleteSchedule(s.id);
    });
  });
}
