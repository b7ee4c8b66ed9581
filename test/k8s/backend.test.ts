// The whole backend with `executor.kind: kubernetes` (wired in backend/src/executors/create.ts)
// against the rig, as the deploy/ ServiceAccount: launch, sweep, logs, metrics, cost, live
// hardware availability (and refusal before launch), a pending reason and cancel, through the HTTP API.
import assert from 'node:assert/strict';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { DEFAULT_HARDWARE } from '../../backend/src/config';
import { ensureBaseImage } from '../components/base-image';
import { COUNTER, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';
import { startCluster, until, type Cluster } from './cluster';

describe('the backend on the kubernetes executor (real control plane)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let b: TestBackend;
  let ns: string;
  before(async function () {
    this.timeout(3 * 60 * 60 * 1000); // a fresh machine builds the rig's binaries first
    cluster = await startCluster();
    ns = await cluster.namespace('tyb');
    await cluster.applyDeploy(ns, ['serviceaccount.yaml', 'role.yaml', 'clusterrole.yaml']);
    const kubeconfig = await cluster.serviceAccountKubeconfig(ns);
    const gpu2 = { ...DEFAULT_HARDWARE[2], name: 'gpu-t4-x2', gpu: { type: 'nvidia-tesla-t4', count: 2 } };
    b = await startTestBackend({ executor: { kind: 'kubernetes', kubernetes: { kubeconfig, namespace: ns } }, hardware: [...DEFAULT_HARDWARE, gpu2] });
    await saveWorkspace(b.client, { dir: COUNTER, model: 'hostpy', version: 'v1' });
    await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1', baseImage: `oci-layout:${await ensureBaseImage()}:latest` });
  });

  it('refuses a version saved without a base image: it has no Python of its own to run in a pod', async () => {
    await assert.rejects(b.client.launch({ model: 'hostpy' }), /saved without a base image.*--base/);
    assert.equal((await b.client.listRuns({ model: 'hostpy' })).items.length, 0);
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
    await cluster?.stop();
  });

  it('runs a run as a Job to Succeeded, with archived logs, parsed metrics and an actual cost', async () => {
    const res = await b.client.launch({ model: 'counter', params: { steps: 2 } });
    const [run] = await waitForRuns(b.client, [res.runs[0].id]);
    assert.equal(run.status, 'Succeeded', run.reason ?? '');
    assert.equal(run.exitCode, 0);
    assert.ok(run.startedAt && run.finishedAt);
    assert.equal(typeof run.actualCost, 'number');
    const logs = await b.client.getLogs(run.id);
    assert.deepEqual(logs.lines.filter((l) => l.stream === 'stdout').map((l) => l.text).slice(-1), ['done']);
    const metrics = await b.client.getMetrics(run.id);
    assert.deepEqual(metrics.series[0].points.map((p) => [p.step, p.value]), [[1, 0.5], [2, 0.25]]);
    const jobs = await cluster.admin.batch.listNamespacedJob({ namespace: ns, labelSelector: `trainyard.dev/run-id=${run.id}` });
    assert.equal(jobs.items.length, 1);
  });

  it('runs a sweep as one Indexed Job', async () => {
    const res = await b.client.launch({ model: 'counter', sweep: { region: ['sfo', 'nyc', 'sea'] }, parallelism: 2 });
    assert.equal(res.runs.length, 3);
    const runs = await waitForRuns(b.client, res.runs.map((r) => r.id));
    assert.deepEqual(runs.map((r) => r.status), ['Succeeded', 'Succeeded', 'Succeeded']);
    const jobs = await cluster.admin.batch.listNamespacedJob({ namespace: ns, labelSelector: `trainyard.dev/sweep-id=${res.sweep!.id}` });
    assert.equal(jobs.items.length, 1);
    assert.equal(jobs.items[0].spec!.completionMode, 'Indexed');
    assert.equal(jobs.items[0].spec!.parallelism, 2);
  });

  it('GET /v1/hardware shows live availability; a profile no node can fit is refused before launch, with the reason', async () => {
    const hw = await b.client.listHardware();
    const by = new Map(hw.items.map((h) => [h.name, h.availability]));
    assert.equal(by.get('gpu-t4')!.status, 'fits-now');
    assert.equal(by.get('gpu-t4')!.slots, 1);
    assert.equal(by.get('gpu-t4-x2')!.status, 'cannot-fit');
    assert.match(by.get('gpu-t4-x2')!.reason, /no node has 2 nvidia\.com\/gpu/);
    await assert.rejects(b.client.launch({ model: 'counter', hardware: 'gpu-t4-x2' }), (err: Error & { status?: number }) => {
      assert.ok(err.status! >= 400 && err.status! < 500, String(err.status));
      assert.match(err.message, /no node has 2 nvidia\.com\/gpu/);
      return true;
    });
  });

  it('shows why a run waits (quota) and cancels it by deleting its Job', async () => {
    await cluster.admin.core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } } });
    try {
      await until(async () => (await cluster.admin.core.readNamespacedResourceQuota({ name: 'no-pods', namespace: ns })).status?.hard?.pods === '0', 'the quota');
      const res = await b.client.launch({ model: 'counter' });
      const id = res.runs[0].id;
      await until(async () => /^waiting for quota: .*exceeded quota: no-pods/.test((await b.client.getRun(id)).reason ?? ''), 'a quota pending reason', 30_000);
      assert.equal((await b.client.getRun(id)).status, 'Pending');
      const cancelled = await b.client.cancelRun(id);
      assert.equal(cancelled.status, 'Cancelled');
      await until(async () => (await cluster.admin.batch.listNamespacedJob({ namespace: ns, labelSelector: `trainyard.dev/run-id=${id}` })).items.length === 0, 'the Job to be deleted', 30_000);
    } finally {
      await cluster.admin.core.deleteNamespacedResourceQuota({ name: 'no-pods', namespace: ns });
    }
  });
});
