/** Cron schedules: fire while the backend runs, survive a restart, never fire twice for one tick, can be deleted. */
import assert from 'node:assert/strict';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { COUNTER, removeHome, sleep, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';
import { SchedulesService } from '../../backend/src/schedules/service';
import { RunsService } from '../../backend/src/runs/service';

describe('schedules', () => {
  let b: TestBackend;
  let home: string;
  before(async () => {
    b = await startTestBackend();
    home = b.home;
    await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1' });
  });
  after(async () => {
    await b.close();
    removeHome(home);
  });

  it('fires every tick of a per-second cron, lists and deletes the schedule', async () => {
    const res = await b.client.launch({ model: 'counter', params: { steps: 1, sleep: 0 }, schedule: '*/2 * * * * *' });
    assert.equal(res.runs.length, 0);
    const id = res.schedule!.id;
    assert.ok(res.schedule!.nextFireAt);
    assert.equal(res.estimate.runs, 1);
    const deadline = Date.now() + 15000;
    let runs = (await b.client.listRuns({ schedule: id })).items;
    while (runs.length < 2 && Date.now() < deadline) {
      await sleep(250);
      runs = (await b.client.listRuns({ schedule: id })).items;
    }
    assert.ok(runs.length >= 2, `fired ${runs.length} times`);
    assert.ok(runs.every((r) => r.scheduleId === id));
    assert.ok((await b.client.listSchedules()).items.some((s) => s.id === id && s.lastFireAt));
    await b.client.deleteSchedule(id);
    await sleep(300);
    const count = (await b.client.listRuns({ schedule: id })).items.length;
    await sleep(2500);
    assert.equal((await b.client.listRuns({ schedule: id })).items.length, count, 'no fires after delete');
    assert.equal((await b.client.listSchedules()).items.length, 0);
    await assert.rejects(b.client.deleteSchedule(id), /no schedule/);
    await waitForRuns(b.client, (await b.client.listRuns({ schedule: id })).items.map((r) => r.id));
  });

  it('never fires one tick twice, even from two schedulers on one store', async () => {
    const res = await b.client.launch({ model: 'counter', params: { steps: 1, sleep: 0 }, schedule: '0 0 1 1 *' });
    const id = res.schedule!.id;
    const tick = '2020-01-01T00:00:00.000Z';
    await b.server.ctx.db.updateTable('schedules').set({ next_fire_at: tick }).where('id', '=', id).execute();
    const runs = new RunsService(b.server.ctx);
    const s1 = new SchedulesService(b.server.ctx, runs);
    const s2 = new SchedulesService(b.server.ctx, runs);
    const fired = await Promise.all([s1.tick(), s2.tick()]);
    const launched = (await b.client.listRuns({ schedule: id })).items;
    assert.equal(launched.length, 1, `fired ${JSON.stringify(fired)}`);
    const after = (await b.client.listSchedules()).items.find((s) => s.id === id)!;
    assert.equal(after.lastFireAt, tick);
    assert.ok(Date.parse(after.nextFireAt!) > Date.now(), 'moves on from now, skipping older missed ticks');
    await b.client.deleteSchedule(id);
    await waitForRuns(b.client, launched.map((r) => r.id));
  });

  it('survives a restart of the backend', async () => {
    const res = await b.client.launch({ model: 'counter', params: { steps: 1, sleep: 0 }, schedule: '*/2 * * * * *' });
    const id = res.schedule!.id;
    await b.close();
    await sleep(500);
    b = await startTestBackend({}, home);
    assert.ok((await b.client.listSchedules()).items.some((s) => s.id === id));
    const deadline = Date.now() + 10000;
    while ((await b.client.listRuns({ schedule: id })).items.length < 1 && Date.now() < deadline) await sleep(250);
    assert.ok((await b.client.listRuns({ schedule: id })).items.length >= 1, 'fired after the restart');
    await b.client.deleteSchedule(id);
    await waitForRuns(b.client, (await b.client.listRuns({ schedule: id })).items.map((r) => r.id));
  });
});
