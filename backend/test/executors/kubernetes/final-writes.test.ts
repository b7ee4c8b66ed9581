// A run's end is stored before the Kubernetes executor lets the run go (real control plane with
// kwok nodes; the store outage is a fake at the executor's own seam: FakeOutageSink). While the
// final write fails the run is parked, not forgotten; once the store is back it is derived again
// from its Job and pod and recorded exactly once, with every log line once. A cancel made during
// an outage is recorded Cancelled once the store is back.
import assert from 'node:assert/strict';
import { FakeOutageSink } from '../local/helpers';
import { env, kspec, startCluster, until, type Cluster, type Env } from './helpers';

describe('kubernetes executor: a final state is stored before the run is let go (real control plane)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let e: Env;
  before(async function () {
    this.timeout(3 * 60 * 60 * 1000); // a fresh machine builds the binaries first
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });
  let made: Array<ReturnType<Env['make']>> = [];
  beforeEach(async () => {
    e = await env(cluster, 'tyw');
  });
  afterEach(async () => {
    for (const ex of made) await ex.stop(); // also after a failed test: its watches would keep mocha alive
    made = [];
  });

  const fast = { finalRetry: { attempts: 3, firstDelayMs: 50, maxDelayMs: 100 }, rederiveMs: 300 };
  const make = () => {
    const ex = e.make(fast);
    made.push(ex);
    return ex;
  };
  const podDone = async (runId: string) => {
    const pods = await cluster.admin.core.listNamespacedPod({ namespace: e.ns, labelSelector: `trainyard.dev/run-id=${runId}` });
    return pods.items.some((p) => p.status?.phase === 'Succeeded');
  };

  it('parks a run whose end cannot be written, and records it once when the store is back', async () => {
    const sink = new FakeOutageSink();
    const ex = make();
    await ex.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '3s' });
    await ex.submit([s]);
    await sink.waitFor(() => !!sink.startedEvent(s.id), 'started', 60_000);
    sink.down = 'finals';
    await sink.waitFor(() => ex.unrecordedEnds === 1, 'the end parked', 60_000);
    assert.ok(sink.refusedFinals >= 3, `every attempt made (${sink.refusedFinals})`);
    // still parked on later passes while the store stays down (each pass derives it again and fails again)
    const refused = sink.refusedFinals;
    await sink.waitFor(() => sink.refusedFinals >= refused + 3, 'derived again and retried', 60_000);
    assert.equal(sink.finishedEvent(s.id), undefined);
    sink.down = null;
    const fin = await sink.waitFinished(s.id, 60_000);
    assert.equal(fin.status, 'Succeeded');
    await until(() => ex.unrecordedEnds === 0, 'nothing parked', 10_000);
    assert.equal(sink.of(s.id).filter((x) => x.type === 'finished').length, 1);
    assert.equal(sink.lines(s.id).filter((l) => l === 'done').length, 1, 'each line archived once');
  });

  it('an outage of every write: the last log lines and the end arrive once, after it', async () => {
    const sink = new FakeOutageSink();
    const ex = make();
    await ex.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '3s' });
    await ex.submit([s]);
    await sink.waitFor(() => !!sink.startedEvent(s.id), 'started', 60_000);
    sink.down = 'all';
    await until(() => podDone(s.id), 'the pod to succeed', 60_000);
    const refused = sink.refused;
    await sink.waitFor(() => sink.refused >= refused + 2, 'writes tried after the pod ended', 60_000);
    assert.equal(sink.finishedEvent(s.id), undefined);
    sink.down = null;
    assert.equal((await sink.waitFinished(s.id, 60_000)).status, 'Succeeded');
    const lines = sink.lines(s.id);
    assert.equal(lines.filter((l) => l === 'done').length, 1, `each line archived once: ${JSON.stringify(lines)}`);
    assert.equal(lines.filter((l) => l.startsWith('::trainyard:metric') && l.includes('"step":2')).length, 1);
    assert.equal(sink.of(s.id).filter((x) => x.type === 'finished').length, 1);
  });

  it('a cancel during an outage is recorded Cancelled once the store is back', async () => {
    const sink = new FakeOutageSink();
    const ex = make();
    await ex.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '120s' });
    await ex.submit([s]);
    await sink.waitFor(() => !!sink.startedEvent(s.id), 'started', 60_000);
    sink.down = 'finals';
    await ex.cancel(s.id);
    assert.equal(sink.finishedEvent(s.id), undefined);
    assert.equal(ex.unrecordedEnds, 1);
    sink.down = null;
    const fin = await sink.waitFinished(s.id, 60_000);
    assert.equal(fin.status, 'Cancelled');
    assert.equal(sink.of(s.id).filter((x) => x.type === 'finished').length, 1);
  });
});
