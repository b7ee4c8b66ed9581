// Training code really runs on Kubernetes: the backend with `executor.kind: kubernetes` against the
// rig's REAL node (test/k8s/real-node.sh: kubelet + containerd + runc), as the deploy/ ServiceAccount,
// through the HTTP API. Versions are saved with the debootstrap Python base image into the rig's own
// registry; the pod pulls them by digest and runs them as uid 1000. Metrics, logs, exit codes and
// reasons (OOMKilled, the deadline, an image that cannot be pulled) come from the kernel and the
// kubelet, not from a simulation. Last, `down` must leave the machine as it found it.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HardwareProfile } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { DEFAULT_HARDWARE } from '../../backend/src/config';
import { ensureBaseImage } from '../components/base-image';
import { TrainyardClient } from '@trainyard/shared';
import { freePort, REPO, removeHome, sleep, spawnBackend, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';
import { startCluster, until, type Cluster } from './cluster';

const run = promisify(execFile);
const FIXTURE = join(REPO, 'test/fixtures/real-node');
const REAL = { nodeSelector: { 'trainyard.dev/node': 'real' }, tolerations: [{ key: 'trainyard.dev/node', operator: 'Equal' as const, value: 'real', effect: 'NoSchedule' as const }] };
// priced high enough that a run of a few seconds costs more than the 1/10000 USD the cost is rounded to
const CPU_REAL: HardwareProfile = { name: 'cpu-real', cpu: 0.5, memory: '256Mi', pricePerHour: 36, ...REAL };
/** the real node's address, the gateway of its bridge (test/k8s/real-node.sh): pods reach the host there */
const NODE_IP = '10.244.77.1';
const CPU_REAL_TINY: HardwareProfile = { name: 'cpu-real-tiny', cpu: 0.25, memory: '48Mi', pricePerHour: 0.01, ...REAL };

/** what the real node may change on the machine, and must give back at `down` */
function machineState() {
  const sysctl = (k: string) => readFileSync(`/proc/sys/${k.replace(/\./g, '/')}`, 'utf8').trim();
  const chains = (ipt: string) =>
    ['filter', 'nat', 'mangle'].flatMap((t) => {
      try {
        return execFileSync(ipt, ['-t', t, '-S'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('-N ')).map((l) => `${ipt} ${t} ${l.slice(3)}`);
      } catch {
        return [];
      }
    });
  const cgroups = readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, 'trainyard-rig')));
  return {
    sysctls: ['vm.overcommit_memory', 'kernel.panic', 'kernel.panic_on_oops'].map((k) => `${k}=${sysctl(k)}`),
    chains: [...chains('iptables'), ...chains('ip6tables')].sort(),
    netns: existsSync('/run/netns') ? readdirSync('/run/netns').sort() : [],
    cgroups,
    bridge: existsSync('/sys/class/net/tyrig0'),
    shims: readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return /containerd-shim-runc-v2\0.*trainyard-k8s-/.test(readFileSync(`/proc/${p}/cmdline`, 'latin1'));
      } catch {
        return false;
      }
    }),
  };
}

/** pids of the processes on this machine whose environment holds TRAINYARD_RUN_ID=id (a pod's processes are host processes) */
function processesOf(id: string): number[] {
  const needle = Buffer.from(`TRAINYARD_RUN_ID=${id}\0`);
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`).includes(needle);
    } catch {
      return false;
    }
  });
}

describe('training code on the real node (kubelet + containerd)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let b: TestBackend;
  let ns: string;
  let before0: ReturnType<typeof machineState>;
  let deadlineRun: string;
  let everyMinute: string;
  let predictEveryMinute: string;
  let trainedId: string;

  before(async function () {
    this.timeout(3 * 60 * 60 * 1000); // a fresh machine builds the rig's binaries first
    const base = await ensureBaseImage();
    before0 = machineState();
    cluster = await startCluster({ realNode: true });
    assert.match(cluster.info.registry, /^http:\/\/127\.0\.0\.1:\d+$/);
    ns = await cluster.namespace('tyr');
    await cluster.applyDeploy(ns, ['serviceaccount.yaml', 'role.yaml', 'clusterrole.yaml']);
    const kubeconfig = await cluster.serviceAccountKubeconfig(ns);
    // pods reach the host at the real node's address (its bridge's gateway): the backend listens
    // there too, so that runs push their outputs to it (executor.kubernetes.backendUrl)
    const port = await freePort();
    b = await startTestBackend({
      server: { host: NODE_IP, port },
      // not loopback, so not the embedded mode: the test's base image is an OCI layout on this machine
      images: { registry: `${cluster.info.registry}/team`, allowLayoutPaths: true },
      executor: { kind: 'kubernetes', kubernetes: { kubeconfig, namespace: ns, backendUrl: `http://${NODE_IP}:${port}` } },
      hardware: [...DEFAULT_HARDWARE, CPU_REAL, CPU_REAL_TINY],
    });
    const baseImage = `oci-layout:${base}:latest`;
    await saveWorkspace(b.client, { dir: join(REPO, 'examples/eta-correction'), model: 'eta-correction', version: 'r1', baseImage, cacheDir: false });
    await saveWorkspace(b.client, { dir: FIXTURE, model: 'probe', version: 'r1', baseImage, cacheDir: false });
    // the deadline run takes a minute (the API's smallest max duration): it goes first, and is checked last
    deadlineRun = (await b.client.launch({ model: 'probe', hardware: 'cpu-real', params: { mode: 'sleep', seconds: 600 }, maxDurationMinutes: 1 })).runs[0].id;
    // so does a schedule that fires every minute (checked near the end, then deleted)
    everyMinute = (await b.client.launch({ model: 'probe', version: 'r1', hardware: 'cpu-real', params: { mode: 'metric', value: 5 }, schedule: '* * * * *' })).schedule!.id;
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
    await cluster?.stop();
  });

  /** a run's whole archived stdout, page by page (a page holds at most 10,000 lines) */
  const stdout = async (id: string) => {
    const out: string[] = [];
    for (let after = -1; ; ) {
      const page = await b.client.getLogs(id, { after, limit: 10000 });
      out.push(...page.lines.filter((l) => l.stream === 'stdout').map((l) => l.text));
      if (page.lines.length === 0) return out;
      after = page.nextSeq;
    }
  };

  it('runs eta-correction from the registry by digest as uid 1000: Succeeded, real log, parsed metrics, a cost from real times', async () => {
    // the statuses the run goes through, from the event stream
    const seen: string[] = [];
    const stop = new AbortController();
    let id = '';
    const early: Array<{ id: string; status: string }> = [];
    const watching = (async () => {
      for await (const e of b.client.events({ signal: stop.signal })) {
        if (e.kind !== 'run') continue;
        if (!id) early.push(e.data);
        else if (e.data.id === id && seen[seen.length - 1] !== e.data.status) seen.push(e.data.status);
      }
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const res = await b.client.launch({ model: 'eta-correction', hardware: 'cpu-real', params: { n: 150000, epochs: 4, region: 'sfo' } }); // ~2 s of work, so whole-second times differ
    id = res.runs[0].id;
    for (const e of early) if (e.id === id && seen[seen.length - 1] !== e.status) seen.push(e.status);
    const [r] = await waitForRuns(b.client, [id], 150_000);
    stop.abort();
    await watching;
    assert.equal(r.status, 'Succeeded', r.reason ?? '');
    assert.deepEqual(seen.filter((x) => x !== 'Pending'), ['Running', 'Succeeded'], `went ${seen.join(' → ')}`);
    const pods = (await cluster.admin.core.listNamespacedPod({ namespace: ns, labelSelector: `trainyard.dev/run-id=${id}` })).items;
    assert.equal(pods.length, 1);
    assert.equal(pods[0].spec!.nodeName, 'ty-real-1');
    assert.equal(pods[0].spec!.securityContext!.runAsUser, 1000);
    assert.match(pods[0].status!.containerStatuses![0].imageID!, new RegExp(`@${(await b.client.getVersion('eta-correction', 'r1')).digest}$`));
    const out = await stdout(id);
    assert.ok(out.some((l) => /^training eta-correction for region=sfo on \d+ trips/.test(l)), out.join('\n'));
    assert.ok(out.some((l) => /^validation rmse [\d.]+ min; wrote .*model\.json/.test(l)), out.join('\n'));
    const metrics = await b.client.getMetrics(id);
    const rmse = metrics.series.find((s) => s.name === 'rmse')!;
    assert.deepEqual(rmse.points.map((p) => p.step), [1, 2, 3, 4]);
    const secs = (Date.parse(r.finishedAt!) - Date.parse(r.startedAt!)) / 1000;
    assert.ok(secs >= 1 && secs < 150, `ran ${secs} s (Kubernetes times have whole seconds)`);
    assert.ok(r.actualCost! > 0 && Math.abs(r.actualCost! - (secs / 3600) * CPU_REAL.pricePerHour) <= 0.0001, `cost ${r.actualCost} for ${secs} s`);

    // the pod pushed its model.json with its run token before it ended: an artifact in the registry
    const artifacts = await b.client.listArtifacts(id);
    assert.equal(artifacts.state, 'stored', artifacts.note ?? '');
    assert.deepEqual(artifacts.files.map((f) => f.path), ['model.json']);
    assert.equal(artifacts.ref, `${cluster.info.registry.replace(/^http:\/\//, '')}/team/eta-correction:run-${id}`);
    const model = JSON.parse(await (await b.client.downloadArtifact(id, 'model.json')).text());
    assert.equal(model.region, 'sfo');
    assert.equal(model.weights.length, model.features.length);
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${artifacts.ref}`])).stdout);
    assert.equal(raw.artifactType, 'application/vnd.trainyard.run-output.v1');
    assert.equal(raw.layers[0].annotations['org.opencontainers.image.title'], 'model.json');
    // its token lived in a Secret the Job owns, and ended with the run
    const [secret] = (await cluster.admin.core.listNamespacedSecret({ namespace: ns, labelSelector: `trainyard.dev/run-id=${id}` })).items;
    assert.equal(secret.metadata!.ownerReferences![0].kind, 'Job');
    const token = Buffer.from(secret.data!['token-0'], 'base64').toString();
    const refused = await fetch(`${b.url}/v1/runs/${id}/artifacts`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{"files":[]}' });
    assert.equal(refused.status, 401, 'the run token is revoked once the run is final');
  });

  it('predict --from-run latest on the real node: an init container fetches the trained model with the run token, read-only', async () => {
    const trained = (await b.client.listRuns({ model: 'eta-correction', status: 'Succeeded' })).items.find((r) => r.entrypoint === 'train');
    assert.ok(trained, 'the train run of the first test');
    const res = await b.client.launch({ model: 'eta-correction', entrypoint: 'predict', hardware: 'cpu-real', fromRun: 'latest', params: { n: 50 } });
    const [r] = await waitForRuns(b.client, [res.runs[0].id], 150_000);
    assert.equal(r.status, 'Succeeded', r.reason ?? '');
    assert.equal(r.inputRunId, trained.id);
    const out = await stdout(r.id);
    assert.ok(out.includes('using the model in /var/run/trainyard-input/model.json'), out.join('\n'));
    const [pod] = (await cluster.admin.core.listNamespacedPod({ namespace: ns, labelSelector: `trainyard.dev/run-id=${r.id}` })).items;
    assert.equal(pod.spec!.initContainers![0].name, 'inputs');
    assert.equal(pod.spec!.containers[0].volumeMounts!.find((m) => m.name === 'input')!.readOnly, true);
    const preds = await (await b.client.downloadArtifact(r.id, 'predictions.csv')).text();
    assert.equal(preds.trim().split('\n').length, 51, 'a header and 50 predictions');
    // "predict daily with the newest model" as a schedule: checked with the other schedule, near the end
    predictEveryMinute = (await b.client.launch({ model: 'eta-correction', entrypoint: 'predict', hardware: 'cpu-real', fromRun: 'latest', params: { n: 20 }, schedule: '* * * * *' })).schedule!.id;
    trainedId = trained.id;
  });

  it('a 4-point sweep is one Indexed Job; each index reads its own params, as uid 1000', async () => {
    const res = await b.client.launch({ model: 'probe', version: 'r1', hardware: 'cpu-real', sweep: { value: [1, 2, 3, 4] }, parallelism: 2 });
    const runs = await waitForRuns(b.client, res.runs.map((x) => x.id), 150_000);
    assert.deepEqual(runs.map((x) => x.status), ['Succeeded', 'Succeeded', 'Succeeded', 'Succeeded'], runs.map((x) => x.reason).join('; '));
    for (const r of runs) {
      const m = await b.client.getMetrics(r.id);
      assert.deepEqual(m.series[0].points.map((p) => p.value), [1, 2, 3].map((s) => Number(r.params.value) * s), `run ${r.id} params ${JSON.stringify(r.params)}`);
      assert.match((await stdout(r.id))[0], new RegExp(`^uid=1000 gid=1000 run=${r.id}$`));
      // each index pushed its own outputs with its own token (Secret key token-<index>)
      assert.equal(await (await b.client.downloadArtifact(r.id, 'done.txt')).text(), `ok value=${r.params.value}\n`);
    }
    const jobs = await cluster.admin.batch.listNamespacedJob({ namespace: ns, labelSelector: `trainyard.dev/sweep-id=${res.sweep!.id}` });
    assert.equal(jobs.items.length, 1);
    assert.equal(jobs.items[0].spec!.completionMode, 'Indexed');
  });

  it('failures come back in words: a traceback with its exit code, and OOMKilled from the kernel', async () => {
    const raised = (await b.client.launch({ model: 'probe', version: 'r1', hardware: 'cpu-real', params: { mode: 'raise' } })).runs[0].id;
    const oom = (await b.client.launch({ model: 'probe', version: 'r1', hardware: 'cpu-real-tiny', params: { mode: 'oom' } })).runs[0].id;
    const [r1, r2] = await waitForRuns(b.client, [raised, oom], 150_000);
    assert.equal(r1.status, 'Failed');
    assert.equal(r1.exitCode, 1);
    assert.match(r1.reason ?? '', /^exited with code 1: /);
    assert.match(r1.reason ?? '', /ValueError: no training data at \/data\/missing\.csv/);
    assert.equal(r2.status, 'Failed');
    assert.match(r2.reason ?? '', /out of memory: the container was OOMKilled/);
  });

  it('an image that cannot be pulled keeps the run Pending with the pull reason, and it cancels', async () => {
    // a version never pulled on the node, whose manifest is then removed from the registry
    await saveWorkspace(b.client, { dir: FIXTURE, model: 'probe', version: 'gone', baseImage: `oci-layout:${await ensureBaseImage()}:latest`, cacheDir: false });
    const v = await b.client.getVersion('probe', 'gone');
    const ref = /^[^/]+\/(.+):[^:]+$/.exec(v.imageRef)![1];
    const del = await fetch(`${cluster.info.registry}/v2/${ref}/manifests/${v.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202, await del.text());
    const id = (await b.client.launch({ model: 'probe', version: 'gone', hardware: 'cpu-real', params: { mode: 'metric' } })).runs[0].id;
    await until(async () => /pull/i.test((await b.client.getRun(id)).reason ?? ''), 'an image-pull pending reason', 90_000);
    const r = await b.client.getRun(id);
    assert.equal(r.status, 'Pending');
    assert.match(r.reason!, /ErrImagePull|ImagePullBackOff|pull/);
    assert.equal((await b.client.cancelRun(id)).status, 'Cancelled');
  });

  it('cancel kills the live container within the grace period; the run is Cancelled', async () => {
    const marker = `m${Date.now()}`;
    const id = (await b.client.launch({ model: 'probe', version: 'r1', hardware: 'cpu-real', params: { mode: 'sleep', seconds: 600, marker } })).runs[0].id;
    await until(async () => (await stdout(id)).some((l) => l.includes(`marker=${marker}`)), 'the script to run', 120_000);
    assert.ok(processesOf(id).length > 0, 'the training script is a real process on this machine');
    const t0 = Date.now();
    assert.equal((await b.client.cancelRun(id)).status, 'Cancelled');
    await until(async () => (await cluster.admin.core.listNamespacedPod({ namespace: ns, labelSelector: `trainyard.dev/run-id=${id}` })).items.length === 0, 'the pod to go', 60_000);
    assert.deepEqual(processesOf(id), [], 'no process of the cancelled run is left');
    assert.ok(Date.now() - t0 < 45_000, `gone in ${Date.now() - t0} ms`);
    assert.equal((await b.client.getRun(id)).status, 'Cancelled');
  });

  it('50,000 log lines: the live follow and the archived log hold each line once, in order', async () => {
    const id = (await b.client.launch({ model: 'probe', version: 'r1', hardware: 'cpu-real', params: { mode: 'lines', lines: 50000 } })).runs[0].id;
    const followed: string[] = [];
    for await (const l of b.client.followLogs(id)) if (l.stream === 'stdout') followed.push(l.text);
    const [r] = await waitForRuns(b.client, [id], 150_000);
    assert.equal(r.status, 'Succeeded', r.reason ?? '');
    const want = Array.from({ length: 50000 }, (_, i) => `line ${String(i).padStart(6, '0')}`);
    const archived = (await stdout(id)).filter((l) => l.startsWith('line '));
    const have = new Set(archived);
    const missing = want.filter((l) => !have.has(l));
    const f = followed.filter((l) => l.startsWith('line '));
    const later: string[] = [];
    if (archived.length !== 50000) {
      const pod = (await cluster.admin.core.listNamespacedPod({ namespace: ns, labelSelector: `trainyard.dev/run-id=${id}` })).items[0];
      const t0 = Date.now();
      for (let i = 0; i < 30; i++) {
        const text = await cluster.admin.core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: ns, container: 'run' }).catch((e: Error) => e.message);
        later.push(`${Date.now() - t0}ms:${String(text).split('\n').length}`);
        await sleep(200);
      }
      later.push(`finished ${JSON.stringify(pod.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt)} run finishedAt ${r.finishedAt}`);
    }
    assert.equal(archived.length, 50000, `${later.join(' ')} ::`+ `archived ${archived.length}, followed ${f.length}; missing ${missing.length}: first ${missing[0]}, last ${missing[missing.length - 1]}; archived ends ${archived.slice(-2).join(', ')}`);
    assert.deepEqual(archived, want);
    assert.deepEqual(followed.filter((l) => l.startsWith('line ')), want);
  });

  it('a max duration ends a running script with the deadline reason', async () => {
    const [r] = await waitForRuns(b.client, [deadlineRun], 150_000);
    assert.equal(r.status, 'Failed');
    assert.match(r.reason ?? '', /deadline|max duration|DeadlineExceeded/i);
  });

  /** what the cluster shows of a schedule's fires (Jobs, pods, container states), for a wait that timed out */
  const firesOf = async (scheduleId: string) => {
    const sel = { namespace: ns, labelSelector: `trainyard.dev/schedule-id=${scheduleId}` };
    const jobs = (await cluster.admin.batch.listNamespacedJob(sel)).items;
    const names = new Set(jobs.map((j) => j.metadata?.name));
    const pods = (await cluster.admin.core.listNamespacedPod({ namespace: ns })).items
      .filter((p) => names.has(p.metadata?.labels?.['batch.kubernetes.io/job-name']))
      .map(async (p) => {
        const tail = await cluster.admin.core.readNamespacedPodLog({ name: p.metadata!.name!, namespace: ns, container: 'run', tailLines: 5 }).catch((e: Error) => e.message);
        return `pod ${p.metadata?.name} ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.map((c) => c.state))}; its log ends: ${String(tail).trim()}`;
      });
    return [...jobs.map((j) => `job ${j.metadata?.name} uid ${j.metadata?.uid} ${JSON.stringify(j.status)}`), ...(await Promise.all(pods))].join('\n');
  };
  const waitForFire = (scheduleId: string, id: string) =>
    waitForRuns(b.client, [id], 120_000).catch(async (err: Error) => {
      const archived = await b.client.getLogs(id, { limit: 1000 }).then((l) => l.lines.slice(-8).map((x) => `${x.stream}: ${x.text}`).join('\n'), (e: Error) => e.message);
      throw new Error(`${err.message}\n${await firesOf(scheduleId).catch((e: Error) => e.message)}\nrun ${id}'s archived log ends:\n${archived}`);
    });

  it('a "* * * * *" schedule fires through the CronJob controller onto the real node: recorded once, Succeeded, its outputs pushed with the schedule\'s token; a predict schedule with fromRun latest', async function () {
    this.timeout(420_000);
    const runsOf = async () => (await b.client.listRuns({ schedule: everyMinute })).items;
    await until(async () => (await runsOf()).length > 0, 'the first fire', 90_000);
    const [r] = await waitForFire(everyMinute, (await runsOf())[0].id);
    // the Jobs are read before the schedule is deleted: deleting its CronJob lets the garbage collector take them
    const jobs = (await cluster.admin.batch.listNamespacedJob({ namespace: ns, labelSelector: `trainyard.dev/schedule-id=${everyMinute}` })).items;
    await b.client.deleteSchedule(everyMinute);
    assert.equal(r.status, 'Succeeded', r.reason ?? '');
    assert.equal(r.scheduleId, everyMinute);
    assert.deepEqual((await b.client.getMetrics(r.id)).series[0].points.map((p) => p.value), [5, 10, 15]);
    // a fire's run id exists only once its Job does: the pod pushed with the schedule's token
    const artifacts = await b.client.listArtifacts(r.id);
    assert.equal(artifacts.state, 'stored', artifacts.note ?? '');
    assert.deepEqual(artifacts.files.map((f) => f.path), ['done.txt']);
    assert.ok(jobs.length >= 1, 'the CronJob controller made a Job');
    const mine = (await runsOf()).filter((x) => x.id === r.id);
    assert.equal(mine.length, 1, 'recorded once');

    // a schedule with fromRun latest: each fire is recorded with the newest training run, which its
    // init container reads from the run's record and fetches with the schedule's token
    const predicts = async () => (await b.client.listRuns({ schedule: predictEveryMinute })).items;
    await until(async () => (await predicts()).length > 0, 'the first predict fire', 90_000);
    const [p] = await waitForFire(predictEveryMinute, (await predicts()).at(-1)!.id);
    await b.client.deleteSchedule(predictEveryMinute);
    assert.equal(p.status, 'Succeeded', p.reason ?? '');
    assert.equal(p.inputRunId, trainedId);
    assert.ok((await stdout(p.id)).includes('using the model in /var/run/trainyard-input/model.json'));
    const preds = await (await b.client.downloadArtifact(p.id, 'predictions.csv')).text();
    assert.equal(preds.trim().split('\n').length, 21, 'a header and 20 predictions');
  });

  it('the backend SIGKILLed mid-run and started again: the run ends Succeeded once, with its whole log', async () => {
    // a backend process of its own, in a namespace of its own (two executors must not share one)
    const ns2 = await cluster.namespace('tyk');
    await cluster.applyDeploy(ns2, ['serviceaccount.yaml', 'role.yaml', 'clusterrole.yaml']);
    const config = {
      images: { registry: `${cluster.info.registry}/team` },
      executor: { kind: 'kubernetes', kubernetes: { kubeconfig: await cluster.serviceAccountKubeconfig(ns2), namespace: ns2 } },
      hardware: [...DEFAULT_HARDWARE, CPU_REAL],
    };
    const home = mkdtempSync(join(tmpdir(), 'ty-k8s-real-crash-'));
    const port = await freePort();
    let { child } = await spawnBackend(home, port, config);
    try {
      const client = new TrainyardClient({ baseUrl: `http://127.0.0.1:${port}`, token: readFileSync(join(home, 'token'), 'utf8').trim() });
      await saveWorkspace(client, { dir: FIXTURE, model: 'probe', version: 'c1', baseImage: `oci-layout:${await ensureBaseImage()}:latest`, cacheDir: false });
      const id = (await client.launch({ model: 'probe', hardware: 'cpu-real', params: { mode: 'ticks', ticks: 40, interval: 0.2 } })).runs[0].id;
      await until(async () => (await client.getLogs(id)).lines.some((l) => l.text === 'tick 005'), 'the run to be half way', 120_000);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await sleep(3000); // the pod goes on while the backend is down
      ({ child } = await spawnBackend(home, port, config));
      const [r] = await waitForRuns(client, [id], 120_000);
      assert.equal(r.status, 'Succeeded', r.reason ?? '');
      const ticks = (await client.getLogs(id, { limit: 1000 })).lines.filter((l) => l.text.startsWith('tick ')).map((l) => l.text);
      assert.deepEqual(ticks, Array.from({ length: 40 }, (_, i) => `tick ${String(i).padStart(3, '0')}`));
      assert.equal((await client.listRuns({ limit: 100 })).items.length, 1, 'one run, not launched again');
    } finally {
      child.kill('SIGKILL');
      removeHome(home);
    }
  });

  it('a second rig with a real node on the same machine is refused with a clear message', async () => {
    const state = mkdtempSync(join(tmpdir(), 'trainyard-k8s-second-'));
    try {
      const err = await run('bash', [join(REPO, 'test/k8s/up.sh'), state], { env: { ...process.env, TY_K8S_REAL_NODE: '1' }, timeout: 120_000 }).then(
        () => null,
        (e: Error & { stderr?: string }) => e,
      );
      assert.ok(err, 'the second up.sh failed');
      assert.match(err.stderr ?? '', /another Kubernetes test rig .* already runs a real node on this machine; stop it first/);
    } finally {
      await run('bash', [join(REPO, 'test/k8s/down.sh'), state]).catch(() => undefined);
      rmSync(state, { recursive: true, force: true });
    }
    assert.equal((await cluster.admin.core.readNode({ name: 'ty-real-1' })).metadata!.name, 'ty-real-1', 'the first rig is untouched');
  });

  it('down leaves the machine as it found it: kernel settings, firewall chains, netns, cgroups, bridge, no shim', async () => {
    await b.close();
    removeHome(b.home);
    b = undefined as unknown as TestBackend;
    await cluster.stop();
    cluster = undefined as unknown as Cluster;
    assert.deepEqual(machineState(), before0);
  });
});
