// The Kubernetes executor against a real control plane (etcd, kube-apiserver with RBAC,
// controller-manager, scheduler) with kwok nodes, every call made as the deploy/ ServiceAccount.
import assert from 'node:assert/strict';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { jobNameForRun, jobNameForSweep, configMapNameForSweep } from '../../../src/executors/kubernetes/names';
import { CPU_SMALL, DIGEST, env, GPU_T4, kspec, RecordingSink, sleep, startCluster, until, type Cluster, type Env } from './helpers';

describe('kubernetes executor (real control plane)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let e: Env;
  before(async function () {
    this.timeout(3 * 60 * 60 * 1000); // a fresh machine builds the binaries first
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });
  beforeEach(async () => {
    e = await env(cluster, 'ty');
  });

  it('runs a run as a Job: pod spec from the profile, started, logs with metrics archived, Succeeded with times', async () => {
    const sink = new RecordingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const s = kspec({ version: '3f2a+dirty.9c1b', maxDurationSeconds: 900 });
    e.outcomes.set(s.id, { runFor: '2s' });
    await ex.submit([s]);
    const fin = await sink.waitFinished(s.id, 30_000);
    await ex.stop();
    assert.equal(fin.status, 'Succeeded');
    assert.equal(fin.exitCode, 0);
    const started = sink.startedEvent(s.id)!;
    assert.ok(started, 'started was reported before the end');
    assert.ok(Math.abs(Date.parse(started.startedAt) - Date.now()) < 60_000, `startedAt from the pod: ${started.startedAt}`);
    const lines = sink.lines(s.id);
    assert.ok(lines.includes('::trainyard:metric {"name":"loss","value":0.25,"step":2}'), `logs archived: ${JSON.stringify(lines)}`);
    assert.equal(lines.filter((l) => l === 'done').length, 1, 'each line archived once');

    const job = await cluster.admin.batch.readNamespacedJob({ name: jobNameForRun(s.id), namespace: e.ns });
    const pod = job.spec!.template.spec!;
    const c = pod.containers[0];
    assert.equal(c.image, `127.0.0.1:5000/team/eta-correction@${DIGEST}`);
    assert.deepEqual(c.resources!.requests, { cpu: '1', memory: '2Gi' });
    assert.deepEqual(c.resources!.limits, { cpu: '1', memory: '2Gi' });
    assert.equal(c.securityContext!.allowPrivilegeEscalation, false);
    assert.equal(pod.securityContext!.runAsNonRoot, true);
    assert.equal(pod.activeDeadlineSeconds, 900);
    assert.equal(job.spec!.activeDeadlineSeconds, 900);
    assert.equal(job.spec!.backoffLimit, 0);
    assert.ok((job.spec!.ttlSecondsAfterFinished ?? 0) > 0);
    const l = job.spec!.template.metadata!.labels!;
    assert.equal(l['trainyard.dev/run-id'], s.id);
    assert.equal(l['trainyard.dev/model'], 'eta-correction');
    assert.match(l['trainyard.dev/version'], /^3f2a_dirty.9c1b_[0-9a-f]{8}$/, 'the version label is sanitized, not refused');
    assert.equal(job.spec!.template.metadata!.annotations!['trainyard.dev/version'], '3f2a+dirty.9c1b');
    assert.deepEqual(c.env!.find((x) => x.name === 'TRAINYARD_PARAMS')!.value, JSON.stringify(s.params));
  });

  it('reports a failing run with its exit code, an OOMKilled one as out of memory', async () => {
    const sink = new RecordingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const a = kspec();
    const b = kspec();
    e.outcomes.set(a.id, { runFor: '1s', exitCode: 3 });
    e.outcomes.set(b.id, { runFor: '1s', exitCode: 137, reason: 'OOMKilled' });
    await ex.submit([a, b]);
    const fa = await sink.waitFinished(a.id, 30_000);
    const fb = await sink.waitFinished(b.id, 30_000);
    await ex.stop();
    assert.equal(fa.status, 'Failed');
    assert.equal(fa.exitCode, 3);
    assert.equal(fa.reason, 'exited with code 3');
    assert.equal(fb.status, 'Failed');
    assert.equal(fb.exitCode, 137);
    assert.match(fb.reason!, /out of memory: the container was OOMKilled/);
  });

  it('fails a run that outlives its max duration (activeDeadlineSeconds), with that reason', async () => {
    const sink = new RecordingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const s = kspec({ maxDurationSeconds: 2 });
    e.outcomes.set(s.id, { runFor: '300s' });
    await ex.submit([s]);
    await sink.waitFor(() => !!sink.startedEvent(s.id), 'started', 30_000);
    const fin = await sink.waitFinished(s.id, 60_000);
    await ex.stop();
    assert.equal(fin.status, 'Failed');
    assert.match(fin.reason!, /exceeded its max duration of 2 s/);
  });

  it('runs a sweep as one Indexed Job with the requested parallelism, params per index from a ConfigMap', async () => {
    const sink = new RecordingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const sweepId = `swp_${Date.now().toString(36)}abc`;
    const specs = ['sfo', 'nyc', 'sea'].map((region) => kspec({ sweepId, parallelism: 2, params: { region } }));
    e.outcomes.set(specs[0].id, { runFor: '2s' });
    await ex.submit(specs);
    const jobs = await cluster.admin.batch.listNamespacedJob({ namespace: e.ns });
    assert.equal(jobs.items.length, 1, 'one Job for the whole sweep');
    const job = jobs.items[0];
    assert.equal(job.metadata!.name, jobNameForSweep(sweepId));
    assert.equal(job.spec!.completionMode, 'Indexed');
    assert.equal(job.spec!.completions, 3);
    assert.equal(job.spec!.parallelism, 2);
    const cm: V1ConfigMap = await cluster.admin.core.readNamespacedConfigMap({ name: configMapNameForSweep(sweepId), namespace: e.ns });
    assert.deepEqual(JSON.parse(cm.data!['params-1.json']), { region: 'nyc' });
    assert.equal(cm.data!['run-id-2'], specs[2].id);
    assert.equal(cm.metadata!.ownerReferences![0].uid, job.metadata!.uid, 'the ConfigMap goes with its Job');
    let maxRunning = 0;
    const timer = setInterval(async () => {
      const pods = await cluster.admin.core.listNamespacedPod({ namespace: e.ns }).catch(() => null);
      const n = pods?.items.filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending').length ?? 0;
      maxRunning = Math.max(maxRunning, n);
    }, 100);
    try {
      for (const s of specs) assert.equal((await sink.waitFinished(s.id, 60_000)).status, 'Succeeded');
    } finally {
      clearInterval(timer);
    }
    await ex.stop();
    assert.ok(maxRunning <= 2, `at most 2 pods at once (saw ${maxRunning})`);
    for (const s of specs) assert.ok(sink.lines(s.id).includes('done'), `logs of ${s.id}`);
  });

  it('cancels a running run by deleting its Job with foreground propagation, and one run of a sweep alone', async () => {
    const sink = new RecordingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '300s' });
    const sweepId = `swp_${Date.now().toString(36)}cxl`;
    const sw = [0, 1].map((i) => kspec({ sweepId, parallelism: 2, params: { i } }));
    e.outcomes.set(sw[0].id, { runFor: '4s' });
    await ex.submit([s, ...sw]);
    await sink.waitFor(() => !!sink.startedEvent(s.id) && !!sink.startedEvent(sw[1].id), 'runs started', 30_000);
    await ex.cancel(s.id);
    await ex.cancel(sw[1].id);
    await ex.cancel(s.id); // idempotent
    const fin = sink.finishedEvent(s.id)!;
    assert.equal(fin.status, 'Cancelled');
    assert.equal(fin.reason, 'cancelled by user');
    await until(async () => {
      const jobs = await cluster.admin.batch.listNamespacedJob({ namespace: e.ns });
      return !jobs.items.some((j) => j.metadata!.name === jobNameForRun(s.id));
    }, 'the cancelled Job to be gone', 30_000);
    assert.equal(sink.finishedEvent(sw[1].id)!.status, 'Cancelled');
    assert.equal((await sink.waitFinished(sw[0].id, 30_000)).status, 'Succeeded', 'the other run of the sweep goes on');
    await sleep(1500);
    await ex.stop();
    assert.equal(sink.of(s.id).filter((x) => x.type === 'finished').length, 1);
    assert.equal(sink.of(sw[1].id).filter((x) => x.type === 'finished').length, 1);
    // a run the executor never heard of
    await ex.start(sink, []);
    await ex.cancel('run_unknown');
    await ex.stop();
    assert.equal(sink.finishedEvent('run_unknown')!.status, 'Cancelled');
  });

  it('availability: fits now from allocatable minus requests, will-queue when busy, cannot-fit with the reason', async () => {
    const ex = e.make();
    await ex.start(new RecordingSink(), []);
    const gpu2 = { ...GPU_T4, name: 'gpu-t4-x2', gpu: { type: 'nvidia-tesla-t4', count: 2 } };
    // a rig just started may still carry the node controller's not-ready taints: the caches follow it
    let before = await ex.availability([CPU_SMALL, GPU_T4, gpu2]);
    await until(async () => (before = await ex.availability([CPU_SMALL, GPU_T4, gpu2])).get('gpu-t4')!.status === 'fits-now', `gpu-t4 to fit now (${before.get('gpu-t4')!.reason})`, 10_000);
    assert.equal(before.get('gpu-t4')!.slots, 1);
    assert.equal(before.get('gpu-t4-x2')!.status, 'cannot-fit');
    assert.match(before.get('gpu-t4-x2')!.reason, /no node has 2 nvidia\.com\/gpu/);
    assert.ok(before.get('cpu-small')!.slots >= 8, `cpu-small slots ${before.get('cpu-small')!.slots}`);

    const sink = new RecordingSink();
    await ex.stop();
    await ex.start(sink, []);
    const g = kspec({ hardware: GPU_T4 });
    e.outcomes.set(g.id, { runFor: '300s' });
    await ex.submit([g]);
    await sink.waitFor(() => !!sink.startedEvent(g.id), 'the GPU run to start', 30_000);
    // the capacity caches see the pod bound to the GPU node by a watch event
    await until(async () => (await ex.availability([GPU_T4])).get('gpu-t4')!.status === 'will-queue', 'gpu-t4 to read will-queue', 10_000);

    // forced anyway: a clear pending reason from the scheduler
    const f = kspec({ hardware: gpu2 });
    await ex.submit([f]);
    await sink.waitFor(() => sink.of(f.id).some((x) => x.type === 'pending' && /Insufficient nvidia\.com\/gpu/.test((x as { reason: string }).reason)), 'a FailedScheduling pending reason', 30_000);
    const reason = (sink.of(f.id).filter((x) => x.type === 'pending').pop() as { reason: string }).reason;
    assert.match(reason, /^waiting for a node: 0\/3 nodes are available/);
    await ex.cancel(g.id);
    await ex.cancel(f.id);
    await ex.stop();
  });

  it('says a run cannot start because its image cannot be pulled', async () => {
    const sink = new RecordingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { pullError: 'manifest unknown: no such digest' });
    await ex.submit([s]);
    await sink.waitFor(() => sink.of(s.id).some((x) => x.type === 'pending' && (x as { reason: string }).reason.startsWith('cannot pull image')), 'an image pull pending reason', 30_000);
    const reason = (sink.of(s.id).filter((x) => x.type === 'pending').pop() as { reason: string }).reason;
    assert.equal(reason, `cannot pull image 127.0.0.1:5000/team/eta-correction@${DIGEST}: ErrImagePull: manifest unknown: no such digest`);
    assert.equal(sink.startedEvent(s.id), undefined);
    await ex.cancel(s.id);
    await ex.stop();
  });

  it('says a run waits for quota when a ResourceQuota refuses its pod', async () => {
    await cluster.admin.core.createNamespacedResourceQuota({ namespace: e.ns, body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } } });
    await until(async () => {
      const q = await cluster.admin.core.readNamespacedResourceQuota({ name: 'no-pods', namespace: e.ns });
      return q.status?.hard?.pods === '0';
    }, 'the quota to be active');
    const sink = new RecordingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const s = kspec();
    await ex.submit([s]);
    await sink.waitFor(() => sink.of(s.id).some((x) => x.type === 'pending' && /^waiting for quota: .*exceeded quota: no-pods/.test((x as { reason: string }).reason)), 'a quota pending reason', 30_000);
    await ex.cancel(s.id);
    await ex.stop();
  });

  it('after a backend restart: re-attaches without launching twice, resumes logs, launches what never got launched', async () => {
    const sink = new RecordingSink();
    const ex1 = e.make();
    await ex1.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '5s' });
    await ex1.submit([s]);
    await sink.waitFor(() => sink.lines(s.id).includes('done'), 'logs archived while running', 30_000);
    await ex1.stop();
    const linesBefore = sink.lines(s.id).length;
    const never = kspec();
    e.outcomes.set(never.id, { runFor: '1s' });

    const ex2 = e.make();
    await ex2.start(sink, [
      { spec: s, status: 'Running', ref: sink.lastRef(s.id), startedAt: sink.startedEvent(s.id)!.startedAt },
      { spec: never, status: 'Pending', ref: null, startedAt: null },
    ]);
    assert.equal((await sink.waitFinished(s.id, 30_000)).status, 'Succeeded');
    assert.equal((await sink.waitFinished(never.id, 30_000)).status, 'Succeeded');
    await ex2.stop();
    assert.equal(sink.lines(s.id).length, linesBefore, 'no log line archived twice');
    assert.equal(sink.of(s.id).filter((x) => x.type === 'started').length, 1, 'not re-started');
    const jobs = await cluster.admin.batch.listNamespacedJob({ namespace: e.ns });
    assert.equal(jobs.items.length, 2);
    assert.equal(jobs.items.filter((j) => j.metadata!.name === jobNameForRun(s.id)).length, 1);
    const pods = await cluster.admin.core.listNamespacedPod({ namespace: e.ns, labelSelector: `trainyard.dev/run-id=${s.id}` });
    assert.equal(pods.items.length, 1, 'one pod: nothing launched twice');

    // submitting the same run again (a retried request) adopts the existing Job
    const ex3 = e.make();
    const sink3 = new RecordingSink();
    await ex3.start(sink3, []);
    await ex3.submit([s]);
    assert.equal((await sink3.waitFinished(s.id, 30_000)).status, 'Succeeded');
    await ex3.stop();
    assert.equal((await cluster.admin.core.listNamespacedPod({ namespace: e.ns, labelSelector: `trainyard.dev/run-id=${s.id}` })).items.length, 1);
  });
});
