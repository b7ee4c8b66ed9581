// A hung API server, for real: the executor talks to the rig's API server through a TCP proxy
// (test/k8s/tcp-proxy.ts) that, once frozen, accepts connections and never answers (or passes
// requests on and drops the answers). A launch and a cancel must then end within their time bounds
// with a reason (an availability read needs no request: it is answered from the caches at once), a Job made by a create that got no answer is removed
// later; the informers must notice their silent watches, relist once the server answers again,
// and go on.
// Through the same proxy: a running pod's log is one stream, not a request per poll.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeClients, WATCH_SECONDS_MAX } from '../../../src/executors/kubernetes/client';
import { jobNameForRun } from '../../../src/executors/kubernetes/names';
import { TcpProxy } from '../../../../test/k8s/tcp-proxy';
import { CPU_SMALL, env, kspec, RecordingSink, sleep, startCluster, type Cluster, type Env } from './helpers';

const TIMEOUT_MS = 1500;

describe('kubernetes executor: a hung API server (real control plane behind a TCP proxy)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let e: Env;
  let proxy: TcpProxy;
  let started: Array<{ stop(): Promise<void> }> = [];
  before(async function () {
    this.timeout(3 * 60 * 60 * 1000);
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });
  beforeEach(async () => {
    e = await env(cluster, 'tyh');
    proxy = await TcpProxy.start(cluster.info.apiPort);
  });
  afterEach(async () => {
    proxy?.thaw();
    await Promise.all(started.map((x) => x.stop())); // also when a test failed half-way
    started = [];
    await proxy?.stop();
  });

  /** the ServiceAccount's clients, through the proxy, each request bounded by TIMEOUT_MS */
  async function viaProxy() {
    const file = await cluster.serviceAccountKubeconfig(e.ns);
    const cfg = JSON.parse(readFileSync(file, 'utf8'));
    cfg.clusters[0].cluster.server = `https://127.0.0.1:${proxy.port}`;
    writeFileSync(`${file}.proxy`, JSON.stringify(cfg));
    const kc = new KubeConfig();
    kc.loadFromFile(`${file}.proxy`);
    return kubeClients(k8s, kc, TIMEOUT_MS);
  }

  it('a running pod is followed on one stream, not read again and again', async () => {
    const sink = new RecordingSink();
    const ex = e.make({ kube: await viaProxy(), logPollMs: 300 });
    started.push(ex);
    await ex.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '15s' });
    await ex.submit([s]);
    await sink.waitLine(s.id, 'done', 30_000);
    await sleep(500);
    const before = proxy.connections;
    await sleep(6000);
    const made = proxy.connections - before;
    await ex.cancel(s.id);
    await ex.stop();
    // polling every 300 ms would be ~20 requests (a connection each); a watch may reconnect meanwhile
    assert.ok(made <= 3, `${made} connections in 6 s while a run's log was followed`);
  });

  it('a launch, a cancel and an availability read end in bounded time; the informers relist when it answers again', async () => {
    const sink = new RecordingSink();
    const msgs: string[] = [];
    const ex = e.make({ kube: await viaProxy(), log: (m) => msgs.push(m) });
    started.push(ex);
    await ex.start(sink, []);
    const running = kspec();
    e.outcomes.set(running.id, { runFor: '120s' });
    await ex.submit([running]);
    await sink.waitLine(running.id, 'done', 30_000);

    proxy.freeze();
    const bound = 2 * TIMEOUT_MS + 3000; // call()'s deadline is 2x the request timeout, plus one backoff
    let t0 = Date.now();
    const launched = kspec();
    await ex.submit([launched]);
    const fin = await sink.waitFinished(launched.id, bound);
    const launchMs = Date.now() - t0;
    assert.equal(fin.status, 'Failed');
    assert.match(fin.reason ?? '', /no answer from the Kubernetes API server within 1.5 s/);
    assert.ok(launchMs < bound, `launch ended after ${launchMs} ms`);

    // the API server acts but its answers never come back: the launch fails in time, and its Job,
    // made all the same, is removed once the server answers again (below)
    proxy.freeze('replies');
    const unanswered = kspec();
    e.outcomes.set(unanswered.id, { runFor: '300s' });
    await ex.submit([unanswered]);
    assert.equal((await sink.waitFinished(unanswered.id, bound)).status, 'Failed');
    const made = await cluster.admin.batch.listNamespacedJob({ namespace: e.ns });
    assert.ok(made.items.some((j) => j.metadata?.name === jobNameForRun(unanswered.id)), 'the create reached the API server');
    proxy.freeze();

    t0 = Date.now();
    await ex.cancel(running.id);
    const cancelMs = Date.now() - t0;
    assert.equal(sink.finishedEvent(running.id)?.status, 'Cancelled');
    assert.ok(cancelMs < 2 * bound, `cancel ended after ${cancelMs} ms`);
    assert.ok(sink.lines(running.id).some((l) => /could not read the log of pod .*no answer/.test(l)), 'the archive says why its end is missing');

    t0 = Date.now();
    const avail = (await ex.availability([CPU_SMALL])).get(CPU_SMALL.name);
    assert.ok(Date.now() - t0 < bound, `availability ended after ${Date.now() - t0} ms`);
    // availability is read from the informers' caches (cluster-capacity.ts): no request, so the hung
    // server costs it nothing until the caches are older than capacityStaleAfterMs (faults.test.ts)
    assert.equal(avail?.status, 'fits-now', avail?.reason ?? '');

    // the watches hear nothing, not even a close: past their own bound they count a stall and relist
    const stallMs = WATCH_SECONDS_MAX * 1000 + TIMEOUT_MS;
    await sink.waitFor(() => ex.pods.stats.stalls >= 1 && ex.jobs.stats.stalls >= 1, 'both watches stalled', stallMs + 15_000).catch(() => {
      throw new Error(`no stall: pods ${JSON.stringify(ex.pods.stats)} jobs ${JSON.stringify(ex.jobs.stats)}`);
    });
    const lists = ex.pods.stats.lists + ex.jobs.stats.lists;
    proxy.thaw();
    await sink.waitFor(() => ex.pods.stats.lists + ex.jobs.stats.lists >= lists + 2, 'both informers relisted', 30_000);
    const after = kspec();
    e.outcomes.set(after.id, { runFor: '1s' });
    await ex.submit([after]);
    assert.equal((await sink.waitFinished(after.id, 30_000)).status, 'Succeeded', 'the informers follow runs again');
    await sink.waitFor(() => !ex.jobs.list().some((j) => j.metadata?.name === jobNameForRun(unanswered.id)), 'the unanswered Job removed', 60_000);
    await ex.stop();
    assert.ok(msgs.some((m) => /stalled .* relisting/.test(m)), msgs.join('\n'));
  });
});
