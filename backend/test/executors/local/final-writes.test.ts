/**
 * A run's end is stored before the local executor moves on: while the sink fails (a fake store
 * outage at the executor's own seam: FakeOutageSink) the ended run keeps its slot and reads not
 * finished; the next run waits. Once the store is back the parked run is derived again from its
 * run dir (exit file, the last log lines) and recorded exactly once, and the queue moves on.
 * Real processes and files; FinalWrites' retries and passes shortened.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { executor, FakeOutageSink, spec, tempDir } from './helpers';

const SCRIPTS = {
  chatty: `
import sys, time
for i in range(5):
    print(f"line {i}", flush=True)
    time.sleep(0.1)
print("last words", flush=True)
sys.exit(3)
`,
  quick: `print("quick", flush=True)\n`,
};

describe('local executor: a final state is stored before the run is let go', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempDir>;
  let made: Array<ReturnType<typeof executor>> = [];
  const make = (over: Parameters<typeof executor>[2]) => {
    const ex = executor(tmp.path, SCRIPTS, over);
    made.push(ex);
    return ex;
  };
  beforeEach(() => (tmp = tempDir('local-finals')));
  afterEach(async () => {
    for (const ex of made) await ex.stop(); // also after a failed test
    made = [];
    tmp.remove();
  });

  for (const outage of ['finals', 'all'] as const) {
  it(`keeps the slot while the end cannot be stored (${outage === 'all' ? 'no write at all, the last logs included' : 'only the final write fails'}), then records it once from the run dir and starts the next`, async () => {
    const sink = new FakeOutageSink();
    const ex = make({
      config: { maxConcurrent: 1, podman: 'never', python: 'python3' },
      finalRetry: { attempts: 3, firstDelayMs: 50, maxDelayMs: 100 },
      rederiveMs: 300,
    });
    await ex.start(sink, []);
    const a = spec('chatty');
    const b = spec('quick');
    await ex.submit([a, b]);
    await sink.waitLine(a.id, 'line 0');
    sink.down = outage; // the store goes away while a runs
    if (outage === 'finals') {
      // a ends, and every attempt at storing its end fails: it is parked, holding the only slot
      await sink.waitFor(() => ex.unrecordedEnds === 1, 'a parked with its end unrecorded', 30_000);
      assert.ok(sink.refusedFinals >= 3, `every attempt was made (${sink.refusedFinals})`);
    } else {
      // a's process ends; its last lines cannot be stored, so its end is not reported yet, and the executor keeps trying
      await sink.waitFor(() => existsSync(join(tmp.path, a.id, 'exit')), 'a to exit', 30_000);
      const refused = sink.refused;
      await sink.waitFor(() => sink.refused >= refused + 3, 'more attempts after the exit', 30_000);
    }
    assert.equal(sink.finishedEvent(a.id), undefined);
    assert.equal(sink.startedEvent(b.id), undefined, 'b does not start: a still holds the slot');
    const avail = await ex.availability([{ name: 'cpu-small', cpu: 1, memory: '1Gi', pricePerHour: 0 }]);
    assert.equal(avail.get('cpu-small')?.slots, 0, 'the slot is still taken');

    sink.down = null; // the store is back
    const end = await sink.waitFinished(a.id, 30_000);
    assert.equal(end.status, 'Failed');
    assert.equal(end.exitCode, 3, 'the outcome derived again from the exit file');
    assert.deepEqual(sink.lines(a.id, 'stdout'), ['line 0', 'line 1', 'line 2', 'line 3', 'line 4', 'last words'], 'every line once, in order');
    assert.equal((await sink.waitFinished(b.id, 30_000)).status, 'Succeeded', 'b ran once the slot was freed');
    assert.ok(sink.startedEvent(b.id)!.at >= end.at, 'b started only after a was recorded');
    assert.equal(sink.of(a.id).filter((e) => e.type === 'finished').length, 1, 'a recorded once');
    assert.equal(ex.unrecordedEnds, 0);
  });
  }

  it('a queued run cancelled during an outage is recorded Cancelled once the store is back', async () => {
    const sink = new FakeOutageSink();
    const ex = make({
      config: { maxConcurrent: 1, podman: 'never', python: 'python3' },
      finalRetry: { attempts: 2, firstDelayMs: 50, maxDelayMs: 50 },
      rederiveMs: 300,
    });
    await ex.start(sink, []);
    const a = spec('chatty');
    const b = spec('quick');
    await ex.submit([a, b]);
    await sink.waitLine(a.id, 'line 0');
    sink.down = 'all';
    await ex.cancel(b.id);
    assert.equal(sink.finishedEvent(b.id), undefined);
    assert.ok(ex.unrecordedEnds >= 1);
    sink.down = null;
    const got = await sink.waitFinished(b.id, 30_000);
    assert.equal(got.status, 'Cancelled');
    assert.equal(sink.startedEvent(b.id), undefined, 'the cancelled run never ran');
    assert.equal((await sink.waitFinished(a.id, 30_000)).exitCode, 3);
  });

  it('a queued run cancelled during an outage stays cancelled through a restart before the store is back', async () => {
    const opts = { config: { maxConcurrent: 1, podman: 'never' as const, python: 'python3' }, finalRetry: { attempts: 2, firstDelayMs: 50, maxDelayMs: 50 }, rederiveMs: 300 };
    const sink = new FakeOutageSink();
    const ex = make(opts);
    await ex.start(sink, []);
    const a = spec('chatty');
    const b = spec('quick');
    await ex.submit([a, b]);
    await sink.waitLine(a.id, 'line 0');
    sink.down = 'all';
    await ex.cancel(b.id);
    await ex.stop(); // the backend goes down with the cancel unrecorded: the store still has b Pending
    const after = new FakeOutageSink();
    const ex2 = make(opts);
    await ex2.start(after, [
      { spec: a, status: 'Running', ref: sink.lastRef(a.id), startedAt: sink.startedEvent(a.id)!.startedAt },
      { spec: b, status: 'Pending', ref: null, startedAt: null },
    ]);
    assert.equal((await after.waitFinished(b.id, 30_000)).status, 'Cancelled');
    assert.equal((await after.waitFinished(a.id, 30_000)).exitCode, 3);
    assert.equal(after.startedEvent(b.id), undefined, 'the cancelled run was not started after the restart');
    assert.ok(!existsSync(join(tmp.path, b.id, 'exit')), 'it never ran');
  });
});
