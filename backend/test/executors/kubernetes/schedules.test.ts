// Schedules on the Kubernetes executor: a CronJob per schedule whose jobTemplate is the Job (or
// Indexed Job) of a launch; a Job the CronJob creates is recorded once through RunSink.adopt
// (keyed by the Job's uid, however many executors watch) and followed like any run. The pure
// part checks the manifests and that a pod derives the same run id as the backend.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1CronJob } from '@kubernetes/client-node';
import type { RunSpec, ScheduleSpec } from '../../../src/executors/executor';
import { CRONJOB_DEFAULTS, FINISH_STEP, PARAMS_DIR, scheduleObjects, scheduleTokenSecret, TOKEN_DIR, type ScheduleTemplate } from '../../../src/executors/kubernetes/manifests';
import { cronJobName, scheduledRunIds, tokenSecretNameForSchedule } from '../../../src/executors/kubernetes/names';
import { cronJobSchedule } from '../../../src/executors/kubernetes/cron-expression';
import { env, kspec, RecordingSink, sleep, startCluster, until, type Cluster, type Env } from './helpers';

/** a RecordingSink that records adopted runs once per key, as the launches table does for all backends */
class AdoptingSink extends RecordingSink {
  adopted: RunSpec[][] = [];
  constructor(private readonly keys: Set<string>) {
    super();
  }
  async adopt(b: { key: string; scheduleId: string; runs: RunSpec[]; ref: unknown }): Promise<boolean> {
    if (this.keys.has(b.key)) return false;
    this.keys.add(b.key);
    this.adopted.push(b.runs);
    return true;
  }
}

function sspec(id: string, runs: RunSpec[], cron = '0 3 * * *'): ScheduleSpec {
  return { id, cron, timezone: 'UTC', runs: runs.map((r) => ({ ...r, id: '' })) };
}

describe('kubernetes executor: schedule manifests', () => {
  const uid = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
  const o = { namespace: 'ns', ttlSecondsAfterFinished: 60 };

  it('a single-run schedule: CronJob defaults, labels, no run id; the pod derives the id the backend records', () => {
    const { cronJob, configMaps } = scheduleObjects(sspec('sch_0000000000abc', [kspec({ params: { lr: 0.5 } })]), o);
    assert.deepEqual(configMaps, []);
    assert.equal(cronJob.metadata!.name, cronJobName('sch_0000000000abc'));
    assert.equal(cronJob.spec!.concurrencyPolicy, CRONJOB_DEFAULTS.concurrencyPolicy);
    assert.equal(cronJob.spec!.timeZone, 'UTC');
    const t = cronJob.spec!.jobTemplate;
    assert.equal(t.metadata!.labels!['trainyard.dev/schedule-id'], 'sch_0000000000abc');
    assert.equal(t.metadata!.labels!['trainyard.dev/model'], 'eta-correction');
    assert.equal(t.metadata!.labels!['trainyard.dev/run-id'], undefined);
    assert.equal(t.metadata!.annotations!['trainyard.dev/run-ids'], undefined);
    assert.equal(t.spec!.template.metadata!.labels!['trainyard.dev/run-id'], undefined);
    const c = t.spec!.template.spec!.containers[0];
    const envs = Object.fromEntries(c.env!.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    const out = execFileSync(c.command![0], c.command!.slice(1), {
      env: { PATH: process.env.PATH, ...envs, TRAINYARD_JOB_UID: uid, TRAINYARD_COMMAND: 'echo "$TRAINYARD_RUN_ID $TRAINYARD_PARAMS"' },
    }).toString();
    assert.equal(out.trim(), `${scheduledRunIds(uid, 1, false).runIds[0]} {"lr":0.5}`);
  });

  it('a sweep schedule: an Indexed Job template reading params by index from the ConfigMap; each pod derives its own run id', () => {
    const points = [kspec({ params: { r: 'a' }, sweepId: 'sweep' }), kspec({ params: { r: 'b' }, sweepId: 'sweep' })];
    const { cronJob, configMaps } = scheduleObjects(sspec('sch_0000000000abd', points), o);
    assert.equal(configMaps.length, 1);
    const [configMap] = configMaps;
    assert.deepEqual(Object.keys(configMap.data!).sort(), ['params-0.json', 'params-1.json']);
    const t = cronJob.spec!.jobTemplate.spec!;
    assert.equal(t.completionMode, 'Indexed');
    assert.equal(t.completions, 2);
    assert.deepEqual(t.template.spec!.volumes!.find((v) => v.name === 'params')!.projected!.sources, [{ configMap: { name: configMap.metadata!.name } }]);
    const dir = mkdtempSync(join(tmpdir(), 'ty-params-'));
    const ids = scheduledRunIds(uid, 2, true).runIds;
    try {
      for (const [k, v] of Object.entries(configMap.data!)) writeFileSync(join(dir, k), v);
      const c = t.template.spec!.containers[0];
      const script = c.command![2].split(PARAMS_DIR).join(dir);
      const envs = Object.fromEntries(c.env!.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
      for (const i of [0, 1]) {
        const out = execFileSync('sh', ['-c', script], {
          env: { PATH: process.env.PATH, ...envs, JOB_COMPLETION_INDEX: String(i), TRAINYARD_JOB_UID: uid, TRAINYARD_COMMAND: 'echo "$TRAINYARD_RUN_ID $TRAINYARD_PARAMS"' },
        }).toString();
        assert.equal(out.trim(), `${ids[i]} ${JSON.stringify(points[i].params)}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(ids.every((id) => /^run_[0-9a-z]{10,40}$/.test(id)));
  });

  it("with a backend URL, every fire's pods mount the schedule's token Secret and end with the finish step (its outputs are kept)", () => {
    const points = [kspec({ params: { r: 'a' }, sweepId: 'sweep' }), kspec({ params: { r: 'b' }, sweepId: 'sweep' })];
    const { cronJob } = scheduleObjects(sspec('sch_0000000000abe', points), { ...o, backendUrl: 'http://10.0.0.1:7878' });
    const pod = cronJob.spec!.jobTemplate.spec!.template.spec!;
    const tokens = pod.volumes!.find((v) => v.name === 'run-token')!;
    assert.deepEqual(tokens.projected!.sources, [{ secret: { name: tokenSecretNameForSchedule('sch_0000000000abe') } }]);
    const c = pod.containers[0];
    assert.ok(c.volumeMounts!.some((m) => m.name === 'run-token' && m.mountPath === TOKEN_DIR && m.readOnly));
    assert.equal(c.env!.find((e) => e.name === 'TRAINYARD_FINISH')!.value, FINISH_STEP);
    assert.equal(c.env!.find((e) => e.name === 'TRAINYARD_BACKEND_URL')!.value, 'http://10.0.0.1:7878');
    // the finish step falls back from token-<index> (a launch's Secret) to token (a schedule's)
    assert.match(FINISH_STEP, new RegExp(`\\|\\| f="${TOKEN_DIR}/token"`));
    const secret = scheduleTokenSecret('sch_0000000000abe', 'tyr_secret', o, { a: 'b' });
    // with fromRun, an init container fetches the input: it derives the run id as the main container does
    // and reads the token the same way; which run to read is in its run's record (no TRAINYARD_INPUT_RUN_ID)
    const withInputs = scheduleObjects({ ...sspec('sch_0000000000abe', points), fromRun: 'latest' }, { ...o, backendUrl: 'http://10.0.0.1:7878' });
    const init = withInputs.cronJob.spec!.jobTemplate.spec!.template.spec!.initContainers![0];
    assert.equal(init.name, 'inputs');
    assert.equal(init.env!.find((e) => e.name === 'TRAINYARD_INPUT_RUN_ID'), undefined);
    const dir = mkdtempSync(join(tmpdir(), 'ty-init-'));
    let out: string;
    try {
      writeFileSync(join(dir, 'token'), 'tyr_schedule');
      writeFileSync(join(dir, 'python3'), '#!/bin/sh\necho "$TRAINYARD_RUN_ID $TRAINYARD_RUN_TOKEN"\n', { mode: 0o755 }); // a fake python3: prints what the real one gets
      out = execFileSync('sh', ['-c', init.command![2].split(TOKEN_DIR).join(dir)], { env: { PATH: `${dir}:${process.env.PATH}`, JOB_COMPLETION_INDEX: '1', TRAINYARD_JOB_UID: uid } }).toString();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(out.trim(), `${scheduledRunIds(uid, 2, true).runIds[1]} tyr_schedule`);
    assert.deepEqual([secret.metadata!.name, secret.stringData], [tokenSecretNameForSchedule('sch_0000000000abe'), { token: 'tyr_secret' }]);
  });
});

describe('kubernetes executor: cron expressions a CronJob accepts', () => {
  it('keeps 5 fields and descriptors, drops a seconds field of 0 (same instants), refuses other seconds and L/W/# with the reason', () => {
    assert.equal(cronJobSchedule('0 3 * * 1'), '0 3 * * 1');
    assert.equal(cronJobSchedule('  */5  * * * * '), '*/5 * * * *');
    assert.equal(cronJobSchedule('@Daily'), '@daily');
    assert.equal(cronJobSchedule('0 0 3 * * 1'), '0 3 * * 1');
    assert.equal(cronJobSchedule('00 15 */2 * * *'), '15 */2 * * *');
    assert.throws(() => cronJobSchedule('*/2 * * * * *'), (e: Error & { status?: number }) => e.status === 400 && /only 5-field cron expressions, without seconds/.test(e.message) && /"\*\/2"/.test(e.message));
    assert.throws(() => cronJobSchedule('30 0 3 * * *'), /only 5-field/);
    assert.throws(() => cronJobSchedule('0 3 * *'), /has 4 fields/);
    assert.throws(() => cronJobSchedule('0 0 3 * * * 2027'), /has 7 fields/);
    assert.throws(() => cronJobSchedule('0 3 L * *'), /do not accept "L"/);
    assert.throws(() => cronJobSchedule('0 3 * * 5#2'), /do not accept "#"/);
    assert.throws(() => cronJobSchedule('@every 5m'), /descriptors they take are/);
  });
});

describe('kubernetes executor: schedules as CronJobs (real control plane)', function () {
  this.timeout(120_000);
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
    e = await env(cluster, 'tys');
  });

  const fireByHand = async (cj: V1CronJob, suffix: string) =>
    cluster.admin.batch.createNamespacedJob({
      namespace: e.ns,
      body: {
        metadata: {
          name: `${cj.metadata!.name}-${suffix}`,
          labels: { ...cj.spec!.jobTemplate.metadata!.labels },
          annotations: { ...cj.spec!.jobTemplate.metadata!.annotations, 'cronjob.kubernetes.io/instantiate': 'manual' },
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata!.name!, uid: cj.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: cj.spec!.jobTemplate.spec,
      },
    });

  it('two executors watch one fired sweep Job: its runs are recorded once and followed to Succeeded; a restart records nothing again', async () => {
    const keys = new Set<string>();
    const [s1, s2] = [new AdoptingSink(keys), new AdoptingSink(keys)];
    const [x1, x2] = [e.make(), e.make()];
    await x1.start(s1, []);
    await x2.start(s2, []);
    const points = [kspec({ params: { r: 'a' }, sweepId: 'sweep', parallelism: 2 }), kspec({ params: { r: 'b' }, sweepId: 'sweep', parallelism: 2 })];
    const sched = sspec('sch_0000000000aaa', points);
    await x1.schedule(sched);
    await x2.schedule(sched); // idempotent
    const cj = await e.sa.batch.readNamespacedCronJob({ name: cronJobName(sched.id), namespace: e.ns });
    const job = await fireByHand(cj, 'm1');
    await until(() => s1.adopted.length + s2.adopted.length === 1, 'the runs to be recorded');
    await sleep(1500);
    assert.equal(s1.adopted.length + s2.adopted.length, 1, 'recorded exactly once');
    const [runs] = [...s1.adopted, ...s2.adopted];
    const sink = s1.adopted.length ? s1 : s2;
    assert.deepEqual(runs.map((r) => r.id), scheduledRunIds(job.metadata!.uid!, 2, true).runIds);
    assert.deepEqual(runs.map((r) => r.params), [{ r: 'a' }, { r: 'b' }]);
    for (const r of runs) assert.equal((await sink.waitFinished(r.id, 30_000)).status, 'Succeeded');
    assert.ok(sink.lines(runs[1].id).includes('done'), 'logs archived');
    await x1.stop();
    await x2.stop();

    const s3 = new AdoptingSink(keys);
    const x3 = e.make();
    await x3.start(s3, []);
    await sleep(2500);
    assert.equal(s3.adopted.length, 0);
    await x3.unschedule!(sched.id);
    await until(async () => (await cluster.admin.batch.listNamespacedCronJob({ namespace: e.ns })).items.length === 0, 'the CronJob to be deleted');
    await until(async () => (await cluster.admin.core.listNamespacedConfigMap({ namespace: e.ns, labelSelector: 'trainyard.dev/managed-by=trainyard' })).items.length === 0, 'its ConfigMap to follow');
    await x3.stop();
  });

  it('a seconds expression is refused before any object is made; seconds 0 is translated and the API server takes it', async () => {
    const x = e.make();
    await x.start(new AdoptingSink(new Set()), []);
    assert.throws(() => x.cronExpression('*/2 * * * * *'), /only 5-field cron expressions/);
    await assert.rejects(x.schedule(sspec('sch_0000000000ddd', [kspec()], '*/2 * * * * *')), /only 5-field cron expressions/);
    assert.equal((await cluster.admin.batch.listNamespacedCronJob({ namespace: e.ns })).items.length, 0, 'nothing created');
    await x.schedule(sspec('sch_0000000000eee', [kspec()], '0 0 3 * * 1'));
    const cj = await cluster.admin.batch.readNamespacedCronJob({ name: cronJobName('sch_0000000000eee'), namespace: e.ns });
    assert.equal(cj.spec!.schedule, '0 3 * * 1');
    await x.stop();
  });

  it('a changed fire (a new version of a schedule on "latest") updates the CronJob, through schedule() and through reconcileSchedules at start', async () => {
    const x = e.make();
    await x.start(new AdoptingSink(new Set()), []);
    const version = async () => {
      const cj = await cluster.admin.batch.readNamespacedCronJob({ name: cronJobName('sch_0000000000fff'), namespace: e.ns });
      return (JSON.parse(cj.spec!.jobTemplate.metadata!.annotations!['trainyard.dev/schedule-runs']) as ScheduleTemplate).base.version;
    };
    await x.schedule(sspec('sch_0000000000fff', [kspec({ version: 'v1' })]));
    assert.equal(await version(), 'v1');
    await x.schedule(sspec('sch_0000000000fff', [kspec({ version: 'v2' })]));
    assert.equal(await version(), 'v2');
    await x.reconcileSchedules!([sspec('sch_0000000000fff', [kspec({ version: 'v3' })])]);
    assert.equal(await version(), 'v3');
    const uid = (await cluster.admin.batch.readNamespacedCronJob({ name: cronJobName('sch_0000000000fff'), namespace: e.ns })).metadata!.uid;
    await x.reconcileSchedules!([sspec('sch_0000000000fff', [kspec({ version: 'v3' })])]);
    assert.equal((await cluster.admin.batch.readNamespacedCronJob({ name: cronJobName('sch_0000000000fff'), namespace: e.ns })).metadata!.uid, uid, 'updated in place, not recreated');
    await x.stop();
  });

  it("with a backend URL, a schedule's token goes into one Secret owned by its CronJob (with the deploy Role); scheduling again keeps it and discards the new token", async () => {
    const issued: string[] = [];
    const discarded: string[] = [];
    const scheduleToken = async () => {
      const token = `tyr_test${issued.length}`;
      issued.push(token);
      return { token, discard: async () => void discarded.push(token) };
    };
    const x = e.make({ backendUrl: 'http://10.0.0.1:7878', runTokens: async (ids) => ids.map(() => 'tyr_unused'), scheduleToken });
    await x.start(new RecordingSink(), []);
    const sched = sspec('sch_0000000000tok', [kspec({ params: { lr: 1 } })]);
    await x.schedule!(sched);
    await x.schedule!({ ...sched, cron: '0 4 * * *' }); // a re-render: the Secret is there already
    const cj = await e.sa.batch.readNamespacedCronJob({ name: cronJobName(sched.id), namespace: e.ns });
    const secret = await cluster.admin.core.readNamespacedSecret({ name: tokenSecretNameForSchedule(sched.id), namespace: e.ns });
    assert.equal(Buffer.from(secret.data!.token, 'base64').toString(), 'tyr_test0');
    assert.deepEqual(secret.metadata!.ownerReferences!.map((r) => [r.kind, r.uid]), [['CronJob', cj.metadata!.uid]]);
    assert.deepEqual([issued, discarded], [['tyr_test0', 'tyr_test1'], ['tyr_test1']]);
    await x.unschedule!(sched.id);
    await x.stop();
  });

  it('reconcileSchedules creates missing CronJobs and deletes orphans', async () => {
    const x = e.make();
    await x.start(new AdoptingSink(new Set()), []);
    await x.schedule(sspec('sch_0000000000bbb', [kspec()]));
    await x.reconcileSchedules!([sspec('sch_0000000000ccc', [kspec()])]);
    const names = async () => (await cluster.admin.batch.listNamespacedCronJob({ namespace: e.ns })).items.filter((c) => !c.metadata!.deletionTimestamp).map((c) => c.metadata!.name).sort();
    await until(async () => JSON.stringify(await names()) === JSON.stringify([cronJobName('sch_0000000000ccc')]), 'only the wanted CronJob');
    await x.stop();
  });
});
