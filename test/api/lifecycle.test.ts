/** A user's loop on the local executor through the API: save, estimate, run, sweep, logs, metrics, cost, cancel, events. */
import assert from 'node:assert/strict';
import type { Run, TrainyardEvent } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { COUNTER, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';

describe('run lifecycle on the local executor', () => {
  let b: TestBackend;
  before(async () => {
    b = await startTestBackend();
    await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1' });
  });
  after(async () => {
    await b.close();
    removeHome(b.home);
  });

  it('runs one run to Succeeded with logs, metrics and an actual cost; the estimate then uses its duration', async () => {
    const before = await b.client.estimate({ model: 'counter', maxDurationMinutes: 30 });
    assert.equal(before.basis, 'max-duration');
    assert.equal(before.expectedSecondsPerRun, 1800);
    assert.equal(before.totalCost, 0.025);

    const res = await b.client.launch({ model: 'counter', params: { steps: 4 } });
    assert.equal(res.runs.length, 1);
    assert.equal(res.sweep, null);
    const [run] = await waitForRuns(b.client, [res.runs[0].id]);
    assert.equal(run.status, 'Succeeded', run.reason ?? '');
    assert.equal(run.exitCode, 0);
    assert.equal(run.version, 'v1');
    assert.ok(run.startedAt && run.finishedAt);
    const seconds = (Date.parse(run.finishedAt!) - Date.parse(run.startedAt!)) / 1000;
    assert.equal(run.actualCost, Math.round(((0.05 * seconds) / 3600) * 10000) / 10000);

    const logs = await b.client.getLogs(run.id);
    const stdout = logs.lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
    assert.ok(stdout.includes('step 4/4'), stdout.join('\n'));
    assert.ok(stdout.includes('done'));
    assert.deepEqual(logs.lines.filter((l) => l.stream === 'stderr').map((l) => l.text), ['warn 2', 'warn 4']);
    assert.equal(logs.done, true);
    assert.deepEqual(logs.lines.map((l) => l.seq), logs.lines.map((_, i) => i), 'seqs are consecutive from 0');

    const metrics = await b.client.getMetrics(run.id);
    assert.deepEqual(metrics.series.map((s) => s.name), ['loss']);
    assert.deepEqual(metrics.series[0].points.map((p) => [p.step, p.value]), [[1, 1], [2, 0.5], [3, 0.333333], [4, 0.25]]);

    const after = await b.client.estimate({ model: 'counter' });
    assert.equal(after.basis, 'median-of-past-runs');
    assert.equal(after.pastRuns, 1);
    assert.ok(after.expectedSecondsPerRun < 60);
  });

  it('records a failing run as Failed with its exit code and reason', async () => {
    const res = await b.client.launch({ model: 'counter', params: { steps: 1, fail: 3 } });
    const [run] = await waitForRuns(b.client, [res.runs[0].id]);
    assert.equal(run.status, 'Failed');
    assert.equal(run.exitCode, 3);
    assert.match(run.reason ?? '', /exited with code 3/);
  });

  it('runs a sweep, one run per grid point, and streams run events', async () => {
    const events: TrainyardEvent[] = [];
    const abort = new AbortController();
    const listening = (async () => {
      try {
        for await (const e of b.client.events({ signal: abort.signal })) events.push(e);
      } catch (err) {
        if ((err as Error).name !== 'AbortError') throw err;
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const res = await b.client.launch({ model: 'counter', params: { steps: 2 }, sweep: { region: ['sfo', 'nyc', 'sea'] }, parallelism: 2 });
    assert.equal(res.runs.length, 3);
    assert.ok(res.sweep);
    assert.equal(res.sweep!.size, 3);
    assert.equal(res.sweep!.parallelism, 2);
    assert.deepEqual(res.runs.map((r) => r.params.region), ['sfo', 'nyc', 'sea']);
    assert.deepEqual(res.runs.map((r) => r.sweepIndex), [0, 1, 2]);
    const done = await waitForRuns(b.client, res.runs.map((r) => r.id));
    assert.ok(done.every((r) => r.status === 'Succeeded'), JSON.stringify(done.map((r) => [r.status, r.reason])));
    const page = await b.client.listRuns({ sweep: res.sweep!.id });
    assert.equal(page.items.length, 3);
    await new Promise((r) => setTimeout(r, 200));
    abort.abort();
    await listening;
    const finals = events.filter((e): e is { kind: 'run'; data: Run } => e.kind === 'run' && e.data.sweepId === res.sweep!.id && e.data.status === 'Succeeded');
    assert.equal(new Set(finals.map((e) => e.data.id)).size, 3, 'an event for each run reaching Succeeded');
  });

  it('follows a log live until the run ends', async () => {
    const res = await b.client.launch({ model: 'counter', params: { steps: 5, sleep: 0.2 } });
    const seen: string[] = [];
    for await (const line of b.client.followLogs(res.runs[0].id)) seen.push(line.text);
    assert.ok(seen.includes('step 5/5') && seen.includes('done'), seen.join('\n'));
    assert.equal((await b.client.getRun(res.runs[0].id)).status, 'Succeeded');
  });

  it('cancels a running run and refuses to cancel it twice', async () => {
    const res = await b.client.launch({ model: 'counter', params: { steps: 100, sleep: 0.2 } });
    const id = res.runs[0].id;
    await waitForRuns(b.client, [id], 20000, (r) => r.status === 'Running');
    await b.client.cancelRun(id);
    const [run] = await waitForRuns(b.client, [id], 20000);
    assert.equal(run.status, 'Cancelled');
    await assert.rejects(b.client.cancelRun(id), /already ended \(Cancelled\)/);
  });

  it('creates one set of runs for two concurrent requests with one idempotency key', async () => {
    const body = { model: 'counter', params: { steps: 1 }, sweep: { seed: [1, 2] }, idempotencyKey: 'launch-42' };
    const before = (await b.client.listRuns({ limit: 1000 })).items.length;
    const [a, c] = await Promise.all([b.client.launch(body), b.client.launch(body)]);
    assert.deepEqual(a.runs.map((r) => r.id), c.runs.map((r) => r.id));
    assert.equal((await b.client.listRuns({ limit: 1000 })).items.length, before + 2);
    await assert.rejects(b.client.launch({ ...body, params: { steps: 2 } }), /already used for a different request/);
    await waitForRuns(b.client, a.runs.map((r) => r.id));
  });

  it('settles runs as Failed with the reason when the executor refuses them (fault injected at the Executor seam)', async () => {
    const executor = b.server.ctx.executor;
    const original = executor.submit.bind(executor);
    executor.submit = async () => {
      throw new Error('injected: no capacity');
    };
    try {
      const res = await b.client.launch({ model: 'counter', sweep: { seed: [1, 2] } });
      const runs = await Promise.all(res.runs.map((r) => b.client.getRun(r.id)));
      for (const r of runs) {
        assert.equal(r.status, 'Failed');
        assert.match(r.reason ?? '', /could not take the run: injected: no capacity/);
      }
    } finally {
      executor.submit = original;
    }
  });

  it('lists hardware with price and live availability', async () => {
    const hw = await b.client.listHardware();
    const byName = new Map(hw.items.map((h) => [h.name, h]));
    assert.equal(byName.get('cpu-small')!.pricePerHour, 0.05);
    assert.equal(byName.get('cpu-small')!.availability.status, 'fits-now');
    assert.ok(byName.get('cpu-small')!.availability.slots >= 1);
    assert.equal(byName.get('gpu-t4')!.availability.status, 'cannot-fit');
    assert.match(byName.get('gpu-t4')!.availability.reason, /GPU/i);
  });
});
