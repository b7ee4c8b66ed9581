// Admission: slots, CPU, sweep parallelism, FIFO, and availability, with real (short) runs.
import assert from 'node:assert/strict';
import type { HardwareProfile } from '@trainyard/shared';
import { executor, RecordingSink, spec, tempDir, type SinkEvent } from './helpers';

const SCRIPTS = {
  nap: `
import time
print("up", flush=True)
time.sleep(1.2)
`,
};

/** the largest number of runs that were running at once, from started/finished events */
function maxOverlap(events: SinkEvent[]): number {
  let now = 0;
  let max = 0;
  for (const e of events) {
    if (e.type === 'started') max = Math.max(max, ++now);
    if (e.type === 'finished') now--;
  }
  return max;
}

describe('local executor: queueing and availability', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir('local-queue')));
  afterEach(() => tmp.remove());

  it('queues the third of three runs with maxConcurrent 2, says why, and starts it when a slot frees', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS, { config: { maxConcurrent: 2, podman: 'auto', python: 'python3' } });
    await ex.start(sink, []);
    const [a, b, c] = [spec('nap'), spec('nap'), spec('nap')];
    await ex.submit([a, b, c]);
    await sink.waitFor(() => sink.of(c.id).some((e) => e.type === 'pending'), 'c pending');
    const pending = sink.of(c.id).find((e) => e.type === 'pending') as Extract<SinkEvent, { type: 'pending' }>;
    assert.equal(pending.reason, 'waiting for a free slot: 2 of 2 local slots busy');
    assert.ok(!sink.of(a.id).some((e) => e.type === 'pending') && !sink.of(b.id).some((e) => e.type === 'pending'));

    const avail = await ex.availability([{ name: 'cpu-small', cpu: 1, memory: '1Gi', pricePerHour: 0 }]);
    assert.equal(avail.get('cpu-small')?.status, 'will-queue');
    assert.equal(avail.get('cpu-small')?.slots, 0);

    for (const r of [a, b, c]) assert.equal((await sink.waitFinished(r.id)).status, 'Succeeded');
    await ex.stop();
    const cStart = sink.startedEvent(c.id)!.at;
    const firstEnd = Math.min(sink.finishedEvent(a.id)!.at, sink.finishedEvent(b.id)!.at);
    assert.ok(cStart >= firstEnd, 'c started only after a or b finished');
    assert.equal(maxOverlap(sink.events), 2);
  });

  it('holds a sweep to its parallelism without blocking other runs', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS, { config: { maxConcurrent: 8, podman: 'auto', python: 'python3' } });
    await ex.start(sink, []);
    const sweep = [0, 1, 2].map((i) => spec('nap', { sweepId: 'swp_0000000001', parallelism: 2, params: { i } }));
    const solo = spec('nap');
    await ex.submit([...sweep, solo]);
    await sink.waitFor(() => sink.startedEvent(solo.id) !== undefined, 'the solo run to start');
    const pending = sink.of(sweep[2].id).find((e) => e.type === 'pending') as Extract<SinkEvent, { type: 'pending' }> | undefined;
    assert.equal(pending?.reason, 'waiting: sweep parallelism 2 reached');
    assert.equal(sink.startedEvent(sweep[2].id), undefined, 'the third sweep run waits');
    for (const r of [...sweep, solo]) assert.equal((await sink.waitFinished(r.id)).status, 'Succeeded');
    await ex.stop();
    assert.equal(maxOverlap(sink.events.filter((e) => sweep.some((s) => s.id === e.runId))), 2);
  });

  it('bounds running runs by CPU cores as well as slots', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS, { cpuCount: 2, config: { maxConcurrent: 8, podman: 'auto', python: 'python3' } });
    await ex.start(sink, []);
    const two: HardwareProfile = { name: 'cpu-two', cpu: 2, memory: '1Gi', pricePerHour: 0 };
    const [a, b] = [spec('nap', { hardware: two }), spec('nap', { hardware: two })];
    await ex.submit([a, b]);
    await sink.waitFor(() => sink.of(b.id).some((e) => e.type === 'pending'), 'b pending');
    const pending = sink.of(b.id).find((e) => e.type === 'pending') as Extract<SinkEvent, { type: 'pending' }>;
    assert.equal(pending.reason, 'waiting for CPU: needs 2 CPU cores, 0 CPU cores of 2 free');
    await sink.waitFinished(b.id);
    await ex.stop();
    assert.equal(maxOverlap(sink.events), 1);
  });

  it('fails at once a run whose profile can never fit here (GPU, too many cores)', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS, { cpuCount: 4 });
    await ex.start(sink, []);
    const gpu = spec('nap', { hardware: { name: 'gpu-t4', cpu: 1, memory: '1Gi', gpu: { type: 'nvidia-tesla-t4', count: 1 }, pricePerHour: 1 } });
    await ex.submit([gpu]);
    const fin = await sink.waitFinished(gpu.id);
    await ex.stop();
    assert.equal(fin.status, 'Failed');
    assert.match(fin.reason ?? '', /no GPUs/);
  });

  it('answers availability per profile: fits-now, will-queue, cannot-fit', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS, { cpuCount: 4, memoryBytes: 8 * 1024 ** 3, config: { maxConcurrent: 3, podman: 'auto', python: 'python3' } });
    await ex.start(sink, []);
    const profiles: HardwareProfile[] = [
      { name: 'cpu-small', cpu: 1, memory: '1Gi', pricePerHour: 0 },
      { name: 'cpu-large', cpu: 4, memory: '4Gi', pricePerHour: 0 },
      { name: 'cpu-huge', cpu: 16, memory: '4Gi', pricePerHour: 0 },
      { name: 'mem-huge', cpu: 1, memory: '64Gi', pricePerHour: 0 },
      { name: 'gpu-t4', cpu: 1, memory: '1Gi', gpu: { type: 'nvidia-tesla-t4', count: 1 }, pricePerHour: 0 },
    ];
    let a = await ex.availability(profiles);
    assert.deepEqual(a.get('cpu-small'), { status: 'fits-now', slots: 3, reason: 'fits now: 3 more runs of this profile can start' });
    assert.equal(a.get('cpu-large')?.status, 'fits-now');
    assert.equal(a.get('cpu-large')?.slots, 1);
    assert.deepEqual(a.get('cpu-huge'), { status: 'cannot-fit', slots: 0, reason: 'cannot fit: asks for 16 CPU cores; this machine has 4 CPU cores' });
    assert.equal(a.get('mem-huge')?.status, 'cannot-fit');
    assert.match(a.get('mem-huge')?.reason ?? '', /64 GiB of memory; this machine has 8 GiB/);
    assert.equal(a.get('gpu-t4')?.status, 'cannot-fit');
    assert.match(a.get('gpu-t4')?.reason ?? '', /the local executor has no GPUs/);

    const r = spec('nap');
    await ex.submit([r]);
    a = await ex.availability(profiles);
    assert.equal(a.get('cpu-small')?.slots, 2);
    assert.equal(a.get('cpu-large')?.status, 'will-queue', 'one core is taken: a 4-core run would wait');
    assert.match(a.get('cpu-large')?.reason ?? '', /^will queue: needs 4 CPU cores, 3 CPU cores of 4 free$/);
    await sink.waitFinished(r.id);
    await ex.stop();
  });
});
