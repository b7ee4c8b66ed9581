// The whole backend with `executor.kind: kubernetes` (wired in backend/src/executors/create.ts)
// against the rig, as the deploy/ ServiceAccount: launch, sweep, logs, metrics, cost, live
// hardware availability (and refusal before launch), a pending reason and cancel, schedules as
// CronJobs (fired by hand as `kubectl create job --from=cronjob/…` does, and once for real),
// through the HTTP API.
import assert from 'node:assert/strict';
import type { V1CronJob, V1Job } from '@kubernetes/client-node';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { DEFAULT_HARDWARE } from '../../backend/src/config';
import { ensureBaseImage } from '../components/base-image';
import { COUNTER, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';
import { sleep, startCluster, until, type Cluster } from './cluster';

describe('the backend on the kubernetes executor (real control plane)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let b: TestBackend;
  let ns: string;
  let config: Record<string, unknown>;
  before(async function () {
    this.timeout(3 * 60 * 60 * 1000); // a fresh machine builds the rig's binaries first
    cluster = await startCluster();
    ns = await cluster.namespace('tyb');
    await cluster.applyDeploy(ns, ['serviceaccount.yaml', 'role.yaml', 'clusterrole.yaml']);
    const kubeconfig = await cluster.serviceAccountKubeconfig(ns);
    const gpu2 = { ...DEFAULT_HARDWARE[2], name: 'gpu-t4-x2', gpu: { type: 'nvidia-tesla-t4', count: 2 } };
    config = { executor: { kind: 'kubernetes', kubernetes: { kubeconfig, namespace: ns } }, hardware: [...DEFAULT_HARDWARE, gpu2] };
    b = await startTestBackend(config);
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

  // ---- schedules: a CronJob each

  const cronJobs = async () => (await cluster.admin.batch.listNamespacedCronJob({ namespace: ns, labelSelector: 'trainyard.dev/managed-by=trainyard' })).items;
  const cronJobOf = async (scheduleId: string) => (await cronJobs()).find((c) => c.metadata!.labels!['trainyard.dev/schedule-id'] === scheduleId);
  const runsOf = async (scheduleId: string) => (await b.client.listRuns({ schedule: scheduleId })).items;

  /** what `kubectl create job --from=cronjob/NAME` does: a Job from the jobTemplate, owned by the CronJob */
  async function fireByHand(cj: V1CronJob, suffix: string): Promise<V1Job> {
    const t = cj.spec!.jobTemplate;
    return cluster.admin.batch.createNamespacedJob({
      namespace: ns,
      body: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: `${cj.metadata!.name}-${suffix}`,
          labels: { ...t.metadata?.labels },
          annotations: { ...t.metadata?.annotations, 'cronjob.kubernetes.io/instantiate': 'manual' },
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata!.name!, uid: cj.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: t.spec,
      },
    });
  }

  it('a schedule is a CronJob; a Job it creates is recorded once as the schedule\'s run and followed to Succeeded; restart duplicates nothing and removes an orphan CronJob; delete removes the CronJob', async () => {
    const res = await b.client.launch({ model: 'counter', params: { steps: 2 }, schedule: '0 3 * * *', timezone: 'Europe/Paris' });
    const sid = res.schedule!.id;
    assert.equal(res.runs.length, 0);
    const cj = (await cronJobOf(sid))!;
    assert.ok(cj, 'the CronJob');
    assert.equal(cj.spec!.schedule, '0 3 * * *');
    assert.equal(cj.spec!.timeZone, 'Europe/Paris');
    assert.equal(cj.spec!.concurrencyPolicy, 'Forbid');
    assert.ok(cj.spec!.successfulJobsHistoryLimit! <= 3 && cj.spec!.failedJobsHistoryLimit! <= 3 && cj.spec!.startingDeadlineSeconds! > 0);
    const tl = cj.spec!.jobTemplate.metadata!.labels!;
    assert.equal(tl['trainyard.dev/schedule-id'], sid);
    assert.equal(tl['trainyard.dev/model'], 'counter');
    assert.equal(tl['trainyard.dev/version'], 'v1');

    const job = await fireByHand(cj, 'manual-1');
    await until(async () => (await runsOf(sid)).length === 1, 'the run of the fired Job', 30_000);
    const [recorded] = await runsOf(sid);
    assert.equal(recorded.scheduleId, sid);
    assert.equal(recorded.id, `run_${job.metadata!.uid!.replace(/-/g, '')}`);
    const [run] = await waitForRuns(b.client, [recorded.id]);
    assert.equal(run.status, 'Succeeded', run.reason ?? '');
    assert.deepEqual(run.params, { steps: 2 });
    const logs = await b.client.getLogs(run.id);
    assert.deepEqual(logs.lines.filter((l) => l.stream === 'stdout').map((l) => l.text).slice(-1), ['done']);
    const metrics = await b.client.getMetrics(run.id);
    assert.deepEqual(metrics.series[0].points.map((p) => [p.step, p.value]), [[1, 0.5], [2, 0.25]]);

    // a sweep schedule: an Indexed Job template, its params ConfigMap owned by the CronJob
    const sw = await b.client.launch({ model: 'counter', sweep: { region: ['sfo', 'nyc'] }, parallelism: 1, schedule: '30 4 * * *' });
    const swId = sw.schedule!.id;
    const swCj = (await cronJobOf(swId))!;
    assert.equal(swCj.spec!.jobTemplate.spec!.completionMode, 'Indexed');
    assert.equal(swCj.spec!.jobTemplate.spec!.completions, 2);
    const cms = (await cluster.admin.core.listNamespacedConfigMap({ namespace: ns, labelSelector: `trainyard.dev/schedule-id=${swId}` })).items;
    assert.equal(cms.length, 1);
    assert.deepEqual(cms[0].metadata!.ownerReferences!.map((o) => [o.kind, o.uid]), [['CronJob', swCj.metadata!.uid]]);
    assert.deepEqual(Object.keys(cms[0].data!).sort(), ['params-0.json', 'params-1.json']);
    await fireByHand(swCj, 'manual-1');
    await until(async () => (await runsOf(swId)).length === 2, 'the sweep runs of the fired Job', 30_000);
    const swRuns = await waitForRuns(b.client, (await runsOf(swId)).map((r) => r.id));
    assert.deepEqual(swRuns.map((r) => r.status), ['Succeeded', 'Succeeded']);
    assert.deepEqual(swRuns.map((r) => r.params.region).sort(), ['nyc', 'sfo']);
    assert.ok(swRuns[0].sweepId && swRuns[0].sweepId === swRuns[1].sweepId);

    // an orphan CronJob (labelled trainyard, no schedule behind it) and a restart
    const orphan = structuredClone(cj);
    orphan.metadata = { name: 'ty-sch-orphan', labels: { ...cj.metadata!.labels, 'trainyard.dev/schedule-id': 'sch_orphan0000000' } };
    delete orphan.status;
    await cluster.admin.batch.createNamespacedCronJob({ namespace: ns, body: orphan });
    await b.close();
    b = await startTestBackend(config, b.home);
    await until(async () => !(await cronJobs()).some((c) => c.metadata!.name === 'ty-sch-orphan'), 'the orphan CronJob to be removed', 30_000);
    assert.ok(await cronJobOf(sid), 'the schedule\'s CronJob stays');
    await sleep(3000); // the informer has seen the fired Jobs again by now
    assert.deepEqual((await runsOf(sid)).map((r) => [r.id, r.status]), [[run.id, 'Succeeded']]);
    assert.equal((await runsOf(swId)).length, 2);

    // delete: the CronJob goes, in the foreground with its Jobs
    await b.client.deleteSchedule(sid);
    await b.client.deleteSchedule(swId);
    await until(async () => (await cronJobs()).length === 0, 'the CronJobs to be deleted', 30_000);
    await until(async () => (await cluster.admin.batch.listNamespacedJob({ namespace: ns, labelSelector: `trainyard.dev/schedule-id=${sid}` })).items.length === 0, 'the fired Job to go with its CronJob', 30_000);
  });

  it('a schedule on the latest version: its CronJob is re-rendered when a version is saved and a fire runs it; a pinned one keeps its version; seconds are refused', async () => {
    const base = `oci-layout:${await ensureBaseImage()}:latest`;
    await saveWorkspace(b.client, { dir: COUNTER, model: 'rolling', version: 'r1', baseImage: base });
    const latest = (await b.client.launch({ model: 'rolling', params: { steps: 1 }, schedule: '0 5 * * *' })).schedule!;
    const pinned = (await b.client.launch({ model: 'rolling', params: { steps: 1 }, schedule: '0 5 * * *', versionPolicy: 'pinned' })).schedule!;
    assert.equal(latest.versionPolicy, 'latest');
    assert.equal(latest.request.version, undefined);
    assert.deepEqual([pinned.versionPolicy, pinned.request.version], ['pinned', 'r1']);
    const fireVersion = async (id: string) => (JSON.parse((await cronJobOf(id))!.spec!.jobTemplate.metadata!.annotations!['trainyard.dev/schedule-runs']) as { base: { version: string } }).base.version;
    assert.equal(await fireVersion(latest.id), 'r1');
    await saveWorkspace(b.client, { dir: COUNTER, model: 'rolling', version: 'r2', baseImage: base });
    await until(async () => (await fireVersion(latest.id)) === 'r2', 'the latest schedule\'s CronJob to take r2', 10_000);
    assert.equal(await fireVersion(pinned.id), 'r1', 'the pinned one keeps r1');
    await fireByHand((await cronJobOf(latest.id))!, 'v2');
    await until(async () => (await runsOf(latest.id)).length === 1, 'the fire to be recorded', 30_000);
    assert.equal((await runsOf(latest.id))[0].version, 'r2');
    await waitForRuns(b.client, (await runsOf(latest.id)).map((r) => r.id));
    await assert.rejects(b.client.launch({ model: 'rolling', schedule: '*/2 * * * * *' }), /Kubernetes CronJobs accept only 5-field cron expressions/);
    assert.equal((await b.client.listSchedules()).items.filter((x) => x.model === 'rolling').length, 2, 'the refused one is not stored');
    for (const id of [latest.id, pinned.id]) await b.client.deleteSchedule(id);
  });

  it('a "* * * * *" schedule fires for real through the CronJob controller: one run, recorded once, Succeeded', async function () {
    this.timeout(150_000);
    const res = await b.client.launch({ model: 'counter', params: { steps: 2 }, schedule: '* * * * *' });
    const sid = res.schedule!.id;
    try {
      await until(async () => (await runsOf(sid)).length > 0, 'the first fire', 80_000);
      const [run] = await waitForRuns(b.client, [(await runsOf(sid))[0].id]);
      assert.equal(run.status, 'Succeeded', run.reason ?? '');
      assert.equal(run.scheduleId, sid);
      const metrics = await b.client.getMetrics(run.id);
      assert.deepEqual(metrics.series[0].points.map((p) => [p.step, p.value]), [[1, 0.5], [2, 0.25]]);
      const jobs = (await cluster.admin.batch.listNamespacedJob({ namespace: ns, labelSelector: `trainyard.dev/schedule-id=${sid}` })).items;
      assert.equal(jobs.length, 1);
      assert.ok(!jobs[0].metadata!.annotations?.['cronjob.kubernetes.io/instantiate'], 'fired by the controller, not by hand');
      assert.equal((await runsOf(sid)).length, 1);
    } finally {
      await b.client.deleteSchedule(sid);
    }
    await until(async () => !(await cronJobOf(sid)), 'the CronJob to be deleted', 30_000);
  });
});
