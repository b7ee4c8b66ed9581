// Faults, on the real control plane: the API server restarted mid-watch (runs, and the
// availability caches, which stop being trusted while it is down), a watch that must
// resume from a long-gone resourceVersion (410), and 429 / 500 answers to a create (from a
// real admission webhook the API server calls), none of which may lose or double a run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { CPU_SMALL, env, kspec, RecordingSink, startCluster, until, type Cluster, type Env } from './helpers';

describe('kubernetes executor: faults (real control plane)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let e: Env;
  before(async function () {
    this.timeout(3 * 60 * 60 * 1000);
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });
  beforeEach(async () => {
    e = await env(cluster, 'tyf');
  });

  it('keeps watching through an API server restart and reports the run that ended meanwhile', async () => {
    const sink = new RecordingSink();
    const msgs: string[] = [];
    const ex = e.make({ log: (m) => msgs.push(m) });
    await ex.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '4s' });
    await ex.submit([s]);
    await sink.waitFor(() => !!sink.startedEvent(s.id), 'started', 30_000);
    const watchErrors = ex.pods.stats.errors + ex.jobs.stats.errors;
    await cluster.restartApiServer(5000); // killed; the pod ends while the API server is down
    const fin = await sink.waitFinished(s.id, 60_000);
    await ex.stop();
    assert.equal(fin.status, 'Succeeded');
    assert.ok(ex.pods.stats.errors + ex.jobs.stats.errors > watchErrors, `the watches saw the outage: ${JSON.stringify([ex.pods.stats, ex.jobs.stats])}`);
    assert.equal(sink.of(s.id).filter((x) => x.type === 'finished').length, 1);
  });

  it('availability stops trusting its caches while the API server is down past staleAfterMs, and trusts them again once the watches resume', async () => {
    const ex = e.make({ capacityStaleAfterMs: 1500 });
    await ex.start(new RecordingSink(), []);
    const fits = async () => (await ex.availability([CPU_SMALL])).get('cpu-small')!;
    await until(async () => (await fits()).status === 'fits-now', 'cpu-small to fit now', 10_000);
    const restart = cluster.restartApiServer(8000);
    let seen = '';
    await until(async () => /cannot read the cluster's capacity \(its watch of (nodes|pods) has failed for \d+ s/.test((seen = (await fits()).reason)), 'availability to distrust the old caches', 15_000);
    assert.equal((await fits()).status, 'will-queue', seen);
    await restart;
    await until(async () => (await fits()).status === 'fits-now', 'cpu-small to fit now again after the restart', 30_000);
    await ex.stop();
  });

  it('relists when its resourceVersion is gone (410: etcd compacted past it) and still sees every change', async () => {
    const sink = new RecordingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '12s' });
    await ex.submit([s]);
    // the test before restarted the API server for 8 s: kube-scheduler's watches come back on
    // client-go's backoff (up to 30 s), and until then the pod waits for the scheduler
    await sink.waitFor(() => !!sink.startedEvent(s.id), 'started', 90_000).catch((err: Error) => {
      const tail = (name: string) => readFileSync(join(cluster.info.state, 'logs', `${name}.log`), 'utf8').trim().split('\n').slice(-8).join('\n');
      throw new Error(`${err.message}\nkube-scheduler's log ends:\n${tail('kube-scheduler')}\nkwok's log ends:\n${tail('kwok')}`);
    });
    const lists = ex.pods.stats.lists;
    // without the watch cache the API server watches etcd directly; etcd compacted past the
    // informers' resourceVersion, so resuming from it gets 410 Expired
    const rv = ex.pods.resourceVersion;
    await cluster.restartApiServer(0, 'SIGKILL', ['--watch-cache=false']);
    for (let i = 0; i < 3; i++) await cluster.admin.core.createNamespacedConfigMap({ namespace: e.ns, body: { metadata: { name: `advance-${i}` } } });
    await cluster.compactEtcd();
    ex.pods.resumeFrom(rv);
    ex.jobs.resumeFrom(rv);
    await sink.waitFor(() => ex.pods.stats.gone >= 1 && ex.jobs.stats.gone >= 1, '410 on both watches', 20_000).catch(() => {
      throw new Error(`no 410: pods ${JSON.stringify(ex.pods.stats)} jobs ${JSON.stringify(ex.jobs.stats)}`);
    });
    assert.equal(sink.finishedEvent(s.id), undefined, 'the run ends after the relist');
    const fin = await sink.waitFinished(s.id, 60_000);
    await ex.stop();
    assert.equal(fin.status, 'Succeeded');
    assert.ok(ex.pods.stats.lists > lists, 'relisted');
  });

  describe('429 and 500 from the API server', () => {
    let server: Server;
    let answers: Array<'429' | '500' | 'allow'>;
    let calls = 0;
    const hookName = () => `ty-faults-${e.ns}.trainyard.dev`;

    beforeEach(async () => {
      calls = 0;
      const pki = cluster.info.pki;
      server = createServer({ cert: readFileSync(join(pki, 'apiserver.crt')), key: readFileSync(join(pki, 'apiserver.key')) }, (req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          const review = JSON.parse(body);
          const answer = answers[calls++] ?? 'allow';
          if (answer === '500') {
            res.writeHead(500).end('boom');
            return;
          }
          const response = answer === '429'
            ? { uid: review.request.uid, allowed: false, status: { code: 429, message: 'slow down' } }
            : { uid: review.request.uid, allowed: true };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      const adm = cluster.admin.kc.makeApiClient(AdmissionregistrationV1Api);
      await adm.createValidatingWebhookConfiguration({
        body: {
          metadata: { name: hookName() },
          webhooks: [
            {
              name: hookName(),
              clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: readFileSync(join(pki, 'ca.crt')).toString('base64') },
              rules: [{ apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'] }],
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': e.ns } },
              failurePolicy: 'Fail',
              sideEffects: 'None',
              admissionReviewVersions: ['v1'],
              timeoutSeconds: 5,
            },
          ],
        },
      });
      // the API server picks the webhook up asynchronously: dry-run creates until it is called
      answers = [];
      for (let i = 0; i < 100 && calls === 0; i++) {
        await cluster.admin.batch
          .createNamespacedJob({ namespace: e.ns, dryRun: 'All', body: { metadata: { name: 'probe' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'x' }] } } } } })
          .catch(() => undefined);
        if (calls === 0) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(calls > 0, 'the webhook is live');
      calls = 0;
    });
    afterEach(async () => {
      const adm = cluster.admin.kc.makeApiClient(AdmissionregistrationV1Api);
      await adm.deleteValidatingWebhookConfiguration({ name: hookName() }).catch(() => undefined);
      await new Promise((r) => server.close(r));
    });

    it('retries a create answered 429 and then 500, and launches the run once', async () => {
      calls = 0;
      answers = ['429', '500', 'allow'];
      const sink = new RecordingSink();
      const msgs: string[] = [];
      const ex = e.make({ log: (m) => msgs.push(m), retry: { initialMs: 50, maxMs: 500 } });
      await ex.start(sink, []);
      const s = kspec();
      e.outcomes.set(s.id, { runFor: '1s' });
      let fin;
      try {
        await ex.submit([s]);
        fin = await sink.waitFinished(s.id, 90_000); // a loaded rig takes its time to schedule and end the pod
      } finally {
        await ex.stop();
      }
      assert.equal(fin.status, 'Succeeded', JSON.stringify(fin));
      assert.equal(calls, 3);
      assert.ok(msgs.some((m) => /^API 429 .*slow down/.test(m)), msgs.join(' | '));
      assert.ok(msgs.some((m) => /^API 500 /.test(m)), msgs.join(' | '));
      const jobs = await cluster.admin.batch.listNamespacedJob({ namespace: e.ns, labelSelector: `trainyard.dev/run-id=${s.id}` });
      assert.equal(jobs.items.length, 1);
    });

    it('a create refused for good fails the run with the reason, not a raw error', async () => {
      answers = Array(20).fill('429');
      const sink = new RecordingSink();
      const ex = e.make({ retry: { attempts: 3, initialMs: 20, maxMs: 50 } });
      await ex.start(sink, []);
      const s = kspec();
      await ex.submit([s]);
      const fin = await sink.waitFinished(s.id, 30_000);
      await ex.stop();
      assert.equal(calls, 3, 'three attempts');
      assert.equal(fin.status, 'Failed');
      assert.match(fin.reason!, /Kubernetes refused the run's Job \(429\): .*slow down/);
    });
  });
});
