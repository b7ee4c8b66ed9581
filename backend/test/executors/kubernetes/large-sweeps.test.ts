/**
 * Sweeps as large as the API accepts: no object may outgrow what Kubernetes stores (an annotation
 * set holds 256 KiB, a ConfigMap or Secret 1 MiB). Run ids are not listed on the Job (completion
 * index = sweep index, from the store), params and tokens are cut into chunks, and a schedule's
 * template names its point count and ConfigMaps instead of carrying every RunSpec. Proven on the
 * real control plane with a 20,000-point sweep and a 5,000-point scheduled sweep.
 */
import assert from 'node:assert/strict';
import type { V1CronJob } from '@kubernetes/client-node';
import type { RunSpec, ScheduleSpec } from '../../../src/executors/executor';
import { completionIndexes, scheduleObjects, sweepObjects, tokenSecrets, TOKENS_PER_SECRET } from '../../../src/executors/kubernetes/manifests';
import { CHUNK_BYTES, paramConfigMaps, paramsFromConfigMaps } from '../../../src/executors/kubernetes/sweep-params';
import { cronJobName, jobNameForSweep, scheduledRunIds } from '../../../src/executors/kubernetes/names';
import { env, kspec, RecordingSink, startCluster, until, type Cluster, type Env } from './helpers';

const ANNOTATIONS_LIMIT = 256 * 1024;
const OBJECT_LIMIT = 1024 * 1024;
const bytes = (o: unknown) => Buffer.byteLength(JSON.stringify(o));
/** what the API server counts against an annotation set's or a ConfigMap's limit: keys and values */
const annotationBytes = (a: Record<string, string> | undefined) => Object.entries(a ?? {}).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v), 0);
const dataBytes = annotationBytes;

function sweep(n: number, sweepId = `swp_${Date.now().toString(36)}big`): RunSpec[] {
  // params of a realistic size: a region and a few hyperparameters per point
  return Array.from({ length: n }, (_, i) => kspec({ sweepId, sweepIndex: i, parallelism: 4, params: { region: `region-${i % 97}`, lr: 0.001 * (1 + (i % 10)), depth: 3 + (i % 7), seed: i } }));
}

/** a sink that records a schedule's fires once per key */
class AdoptingSink extends RecordingSink {
  adopted: RunSpec[][] = [];
  private readonly keys = new Set<string>();
  async adopt(b: { key: string; runs: RunSpec[] }): Promise<boolean> {
    if (this.keys.has(b.key)) return false;
    this.keys.add(b.key);
    this.adopted.push(b.runs);
    return true;
  }
}

describe('kubernetes executor: large sweeps fit the API server object limits', () => {
  const o = { namespace: 'ns', ttlSecondsAfterFinished: 60, backendUrl: 'http://10.0.0.1:7878' };

  it('cuts per-index data into ConfigMaps under the limit, keys never repeated, read back whole', () => {
    const data = Array.from({ length: 1000 }, (_, i): [string, string] => [`params-${i}.json`, JSON.stringify({ i, pad: 'x'.repeat(200) })]);
    const maps = paramConfigMaps('base', data, { namespace: 'ns', labels: { a: 'b' } }, 20_000);
    assert.ok(maps.length > 5, `${maps.length} chunks`);
    assert.deepEqual(maps.slice(0, 3).map((m) => m.metadata!.name), ['base', 'base-1', 'base-2']);
    assert.ok(maps.every((m) => dataBytes(m.data) <= 20_000));
    const keys = maps.flatMap((m) => Object.keys(m.data!));
    assert.equal(new Set(keys).size, 1000);
    assert.deepEqual(paramsFromConfigMaps(maps, 1000)!.map((p) => p.i), Array.from({ length: 1000 }, (_, i) => i));
    assert.equal(paramsFromConfigMaps(maps.slice(1), 1000), null, 'a missing chunk is no params, not wrong params');
  });

  it('a 100,000-point sweep: a Job of a few KiB with no run-id list, ConfigMaps and token Secrets under 1 MiB each', () => {
    const specs = sweep(100_000);
    const { job, configMaps } = sweepObjects(specs, o);
    assert.equal(job.spec!.completions, 100_000);
    assert.ok(bytes(job) < 16 * 1024, `Job is ${bytes(job)} bytes`);
    assert.ok(annotationBytes(job.metadata!.annotations) < 4096);
    assert.ok(configMaps.length >= 2, `${configMaps.length} ConfigMaps`);
    for (const m of configMaps) assert.ok(dataBytes(m.data) <= CHUNK_BYTES && CHUNK_BYTES < OBJECT_LIMIT, `${m.metadata!.name}: ${dataBytes(m.data)} bytes`);
    const sources = job.spec!.template.spec!.volumes!.find((v) => v.name === 'params')!.projected!.sources!;
    assert.deepEqual(sources.map((s) => s.configMap!.name), configMaps.map((m) => m.metadata!.name));
    const tokens = specs.map((s, i): [number, string] => [i, `tyr_${'t'.repeat(43)}${i}`]);
    const secrets = tokenSecrets(job.metadata!.name!, tokens, o, {});
    assert.equal(secrets.length, Math.ceil(100_000 / TOKENS_PER_SECRET));
    for (const s of secrets) assert.ok(dataBytes(s.stringData) < OBJECT_LIMIT, `${s.metadata!.name}: ${dataBytes(s.stringData)} bytes`);
    assert.equal(secrets[24].stringData![`token-${24 * TOKENS_PER_SECRET + 7}`], tokens[24 * TOKENS_PER_SECRET + 7][1]);
  });

  it('a resubmitted part of a sweep keeps each run at its sweep index; the missing indexes have no files', () => {
    const specs = sweep(10).filter((s) => s.sweepIndex! % 3 === 0);
    assert.deepEqual(completionIndexes(specs), [0, 3, 6, 9]);
    const { job, configMaps } = sweepObjects(specs, o);
    assert.equal(job.spec!.completions, 10);
    assert.equal(configMaps[0].data!['run-id-6'], specs[2].id);
    assert.equal(configMaps[0].data!['run-id-1'], undefined);
    assert.match(job.spec!.template.spec!.containers[0].command![2], /\[ -r \/etc\/trainyard\/run-id-\$i \] \|\| exit 0;/);
  });

  it('a 5,000-point schedule: the template names the count and the ConfigMaps, not 5,000 RunSpecs', () => {
    const s: ScheduleSpec = { id: 'sch_0000000000big', cron: '0 3 * * *', timezone: 'UTC', runs: sweep(5000).map((r) => ({ ...r, id: '', sweepIndex: null })) };
    const { cronJob, configMaps } = scheduleObjects(s, o);
    const a = cronJob.spec!.jobTemplate.metadata!.annotations;
    assert.ok(annotationBytes(a) < 8 * 1024, `template annotations are ${annotationBytes(a)} bytes`);
    assert.ok(bytes(cronJob) < 32 * 1024, `CronJob is ${bytes(cronJob)} bytes`);
    assert.ok(configMaps.every((m) => dataBytes(m.data) <= CHUNK_BYTES));
    assert.deepEqual(paramsFromConfigMaps(configMaps, 5000)!.map((p) => p.seed), Array.from({ length: 5000 }, (_, i) => i));
    assert.ok(annotationBytes(a) < ANNOTATIONS_LIMIT);
  });
});

describe('kubernetes executor: large sweeps on the real control plane', function () {
  this.timeout(600_000);
  let cluster: Cluster;
  let e: Env;
  before(async function () {
    this.timeout(3 * 60 * 60 * 1000);
    cluster = await startCluster();
    e = await env(cluster, 'tyl');
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a 20,000-point sweep: the API server takes every object; its first points run with their own params; cancel ends the rest', async () => {
    const sink = new RecordingSink();
    const ex = e.make({ backendUrl: 'http://10.0.0.1:7878', runTokens: async (ids) => ids.map((id) => `tyr_${id}`) });
    await ex.start(sink, []);
    const specs = sweep(20_000);
    const t0 = Date.now();
    await ex.submit(specs);
    const submitted = Date.now() - t0;
    const name = jobNameForSweep(specs[0].sweepId!);
    const job = await cluster.admin.batch.readNamespacedJob({ name, namespace: e.ns });
    assert.equal(job.spec!.completions, 20_000);
    assert.equal(job.metadata!.annotations!['trainyard.dev/run-ids'], undefined);
    const maps = (await cluster.admin.core.listNamespacedConfigMap({ namespace: e.ns })).items.filter((m) => m.metadata!.name!.startsWith(name));
    assert.ok(maps.length >= 2, `${maps.length} ConfigMaps`);
    const data = Object.assign({}, ...maps.map((m) => m.data));
    assert.equal(data['run-id-19999'], specs[19_999].id);
    assert.deepEqual(JSON.parse(data['params-12345.json']), specs[12_345].params);
    const secrets = (await cluster.admin.core.listNamespacedSecret({ namespace: e.ns })).items.filter((s) => s.metadata!.name!.startsWith(`${name}-token-`));
    assert.equal(secrets.length, 5);
    assert.equal(Buffer.from(secrets.find((s) => s.metadata!.name === `${name}-token-4`)!.data!['token-19999'], 'base64').toString(), `tyr_${specs[19_999].id}`);
    // the first points run (kwok) and are matched to their runs by completion index
    for (const s of specs.slice(0, 4)) assert.equal((await sink.waitFinished(s.id, 120_000)).status, 'Succeeded');
    const t1 = Date.now();
    await Promise.all(specs.slice(4).map((s) => ex.cancel(s.id)));
    const cancelled = Date.now() - t1;
    for (const s of specs.slice(-3)) assert.equal((await sink.waitFinished(s.id, 60_000)).status, 'Cancelled');
    await until(async () => (await cluster.admin.batch.listNamespacedJob({ namespace: e.ns })).items.length === 0, 'the Job to be deleted once every run is cancelled', 120_000);
    await ex.stop();
    console.log(`      20,000 points: submitted in ${submitted} ms (${maps.length} ConfigMaps, ${secrets.length} Secrets), 19,996 cancelled in ${cancelled} ms`);
  });

  it("a 5,000-point scheduled sweep: a fire's 5,000 runs are recorded once with their params read from the ConfigMaps, and run", async () => {
    const sink = new AdoptingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const runs = sweep(5000).map((r) => ({ ...r, id: '', sweepIndex: null, parallelism: 3 }));
    const s: ScheduleSpec = { id: `sch_${Date.now().toString(36)}big`, cron: '0 3 * * *', timezone: 'UTC', runs };
    await ex.schedule!(s);
    const cj: V1CronJob = await cluster.admin.batch.readNamespacedCronJob({ name: cronJobName(s.id), namespace: e.ns });
    const job = await cluster.admin.batch.createNamespacedJob({
      namespace: e.ns,
      body: {
        metadata: {
          name: `${cj.metadata!.name}-m1`,
          labels: { ...cj.spec!.jobTemplate.metadata!.labels },
          annotations: { ...cj.spec!.jobTemplate.metadata!.annotations, 'cronjob.kubernetes.io/instantiate': 'manual' },
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata!.name!, uid: cj.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: cj.spec!.jobTemplate.spec,
      },
    });
    await until(() => sink.adopted.length === 1, 'the fire to be recorded', 60_000);
    const [fire] = sink.adopted;
    assert.equal(fire.length, 5000);
    assert.deepEqual(fire.map((r) => r.id), scheduledRunIds(job.metadata!.uid!, 5000, true).runIds);
    assert.deepEqual(fire[4321].params, runs[4321].params);
    assert.equal(fire[4321].sweepIndex, 4321);
    for (const r of fire.slice(0, 3)) assert.equal((await sink.waitFinished(r.id, 120_000)).status, 'Succeeded');
    await ex.unschedule!(s.id);
    await ex.stop();
  });
});
