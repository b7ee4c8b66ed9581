/**
 * A 1,000-run sweep on the Kubernetes executor, against the test rig (real kube-apiserver,
 * controller-manager, scheduler v1.34.4 + etcd + kwok) with 100 kwok GPU nodes
 * (kwok-gpu-t4-1..100: 1 nvidia.com/gpu each, tainted, labelled like the gpu-t4 profile).
 *
 * Ours: the real backend in-process (`executor.kind: kubernetes`, as the deploy/ ServiceAccount)
 * launches `sweep: {i: [0..999]}` on gpu-t4 with POST /v1/runs: one Indexed Job + one params
 * ConfigMap. kwok pods end after the default run-for (1 s; the executor has no per-launch pod
 * annotation through the API). Measured from the POST: the response; every run recorded
 * Running, then Succeeded, in the store (from the backend's event bus, which the store's
 * updates publish); the scheduler's last binding of the sweep's pods; the backend's API
 * writes; the process's CPU time and peak RSS.
 *
 * Peer, same rig, fresh namespace, backend stopped: the 1,000 equivalent single-run Jobs
 * (the executor's own runJob() manifests) in one multi-document YAML, `kubectl apply -f`
 * (kubectl built by `test/k8s/build.sh kubectl`); measured: kubectl's wall time, the
 * scheduler's last binding, all pods Succeeded (polled), kubectl's API writes.
 *
 * API requests are counted by the API server itself: the bench restarts it with an audit
 * policy (Metadata level: every write, and get/list in the two namespaces) and attributes
 * each audit event to its user (the ServiceAccount, admin for kubectl, the controllers).
 *
 * Env: BENCH_RUNS (1000), BENCH_NODES (100), BENCH_TIMEOUT_S per phase (150).
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import type { Run } from '@trainyard/shared';
import { DEFAULT_HARDWARE } from '../backend/src/config';
import { runJob } from '../backend/src/executors/kubernetes/manifests';
import { newId } from '../backend/src/ids';
import { ensureBaseImage } from '../test/components/base-image';
import { COUNTER, removeHome, startTestBackend } from '../test/helpers/backend';
import { REPO, startCluster, type Cluster } from '../test/k8s/cluster';
import { ms, printRatios, ratio, sleep, step, table } from './lib';

const run = promisify(execFile);
const N = Number(process.env.BENCH_RUNS ?? 1000);
const NODES = Number(process.env.BENCH_NODES ?? 100);
const PHASE_TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 150) * 1000;
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  stageTimestamp: string;
  responseStatus?: { code?: number };
}

/** audit events appended since offset (a byte position in the log) */
function auditSince(file: string, offset: number): AuditEvent[] {
  const buf = readFileSync(file);
  return buf
    .subarray(offset)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AuditEvent);
}
const auditSize = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

interface Requests {
  writes: number;
  byKind: Map<string, number>;
  reads: number;
  readsByKind: Map<string, number>;
}
function countRequests(events: AuditEvent[], user: (u: string) => boolean): Requests {
  const r: Requests = { writes: 0, byKind: new Map(), reads: 0, readsByKind: new Map() };
  for (const e of events) {
    if (!user(e.user.username)) continue;
    const kind = `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? '/' + e.objectRef.subresource : ''}`;
    if (WRITE_VERBS.has(e.verb)) {
      r.writes++;
      r.byKind.set(kind, (r.byKind.get(kind) ?? 0) + 1);
    } else {
      r.reads++;
      r.readsByKind.set(kind, (r.readsByKind.get(kind) ?? 0) + 1);
    }
  }
  return r;
}
const kinds = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');

/** writes per user and kind in namespace (everyone: controllers, scheduler, kwok) */
function writesByUser(events: AuditEvent[], ns: string): string {
  const m = new Map<string, number>();
  for (const e of events) {
    if (!WRITE_VERBS.has(e.verb) || e.objectRef?.namespace !== ns) continue;
    const k = `${e.user.username.replace('system:serviceaccount:', 'sa:')} ${e.verb} ${e.objectRef.resource}${e.objectRef.subresource ? '/' + e.objectRef.subresource : ''}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return kinds(m);
}
const totalWrites = (events: AuditEvent[], ns: string) => events.filter((e) => WRITE_VERBS.has(e.verb) && e.objectRef?.namespace === ns).length;

/** ms since epoch of the scheduler's last binding in ns, and how many it made */
function bindings(events: AuditEvent[], ns: string): { count: number; first: number; last: number } {
  const ts = events
    .filter((e) => e.verb === 'create' && e.objectRef?.subresource === 'binding' && e.objectRef.namespace === ns && e.user.username === 'system:kube-scheduler' && (e.responseStatus?.code ?? 201) < 300)
    .map((e) => Date.parse(e.stageTimestamp));
  return { count: ts.length, first: Math.min(...ts), last: Math.max(...ts) };
}

async function main() {
  const kubectlBin = await step('kubectl (test/k8s/build.sh kubectl)', async () => {
    const { stdout } = await run('bash', [join(REPO, 'test/k8s/build.sh'), 'kubectl'], { maxBuffer: 16 << 20, timeout: 3 * 60 * 60 * 1000 });
    return join(stdout.trim().split('\n').pop()!, 'kubectl');
  });
  const baseImage = await ensureBaseImage();
  const cluster: Cluster = await step(`rig with ${NODES} kwok GPU nodes`, () => startCluster({ gpuNodes: NODES }));
  let backend: Awaited<ReturnType<typeof startTestBackend>> | null = null;
  try {
    const ns = await cluster.namespace('sweep');
    const peerNs = await cluster.namespace('peer');
    await cluster.applyDeploy(ns, ['serviceaccount.yaml', 'role.yaml', 'clusterrole.yaml']);

    // the API server again, now with an audit log: who wrote (and read) what, when
    const policy = join(cluster.info.state, 'audit-policy.yaml');
    const auditLog = join(cluster.info.state, 'logs', 'audit.log');
    writeFileSync(
      policy,
      stringify({
        apiVersion: 'audit.k8s.io/v1',
        kind: 'Policy',
        omitStages: ['RequestReceived', 'ResponseStarted', 'Panic'],
        rules: [
          { level: 'Metadata', verbs: [...WRITE_VERBS] },
          { level: 'Metadata', verbs: ['get', 'list'], namespaces: [ns, peerNs] },
          { level: 'None' },
        ],
      }),
    );
    await step('API server restart with the audit policy', () =>
      cluster.restartApiServer(0, 'SIGKILL', ['--audit-policy-file', policy, '--audit-log-path', auditLog, '--audit-log-format', 'json', '--audit-log-maxsize', '0']),
    );
    const sa = `system:serviceaccount:${ns}:trainyard`;
    const kubeconfig = await cluster.serviceAccountKubeconfig(ns);

    // ---------------------------------------------------------------- ours
    backend = await startTestBackend({ executor: { kind: 'kubernetes', kubernetes: { kubeconfig, namespace: ns } } });
    const b = backend;
    const saved = await step('save counter (base image)', () => saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1', baseImage: `oci-layout:${baseImage}:latest` }));
    const hw = await b.client.listHardware();
    const gpu = hw.items.find((h) => h.name === 'gpu-t4')!.availability;
    console.log(`gpu-t4 availability: ${gpu.status}, ${gpu.slots} slots`);
    await sleep(2000); // let the restart's relists settle

    const runningAt = new Map<string, number>();
    const doneAt = new Map<string, number>();
    const notSucceeded: Run[] = [];
    let t0 = 0, eventsBeforeResponse = 0;
    let tPost = NaN;
    const runEvents = new Map<string, number>();
    const unsubscribe = b.server.ctx.bus.subscribe((e) => {
      if (e.kind !== 'run') return;
      const r = e.data as Run;
      const now = performance.now();
      runEvents.set(r.status, (runEvents.get(r.status) ?? 0) + 1);
      if (Number.isNaN(tPost)) eventsBeforeResponse++;
      if ((r.status === 'Running' || r.startedAt) && !runningAt.has(r.id)) runningAt.set(r.id, now - t0);
      if (['Succeeded', 'Failed', 'Cancelled'].includes(r.status) && !doneAt.has(r.id)) {
        doneAt.set(r.id, now - t0);
        if (r.status !== 'Succeeded') notSucceeded.push(r);
      }
    });
    let peakRss = process.memoryUsage.rss();
    const rssBefore = peakRss;
    const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);

    const auditOffset = auditSize(auditLog);
    const cpu0 = process.cpuUsage();
    const wall0 = Date.now();
    t0 = performance.now();
    const res = await b.client.launch({ model: 'counter', hardware: 'gpu-t4', sweep: { i: Array.from({ length: N }, (_, i) => i) } });
    tPost = performance.now() - t0;
    const cpuPost = process.cpuUsage(cpu0);
    if (res.runs.length !== N) throw new Error(`launched ${res.runs.length} runs`);
    const deadline = t0 + PHASE_TIMEOUT_MS;
    while (runningAt.size < N && performance.now() < deadline) await sleep(50);
    const tAllRunning = runningAt.size === N ? Math.max(...runningAt.values()) : NaN;
    while (doneAt.size < N && performance.now() < deadline) await sleep(50);
    const tAllDone = doneAt.size === N ? Math.max(...doneAt.values()) : NaN;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(rssTimer);
    unsubscribe();
    if (notSucceeded.length) console.log(`NOT Succeeded: ${notSucceeded.length}, e.g. ${notSucceeded[0].id} ${notSucceeded[0].status}: ${notSucceeded[0].reason}`);
    const oursRunning = runningAt.size, oursDone = doneAt.size;
    await backend.close();
    removeHome(backend.home);
    backend = null;
    await sleep(1000);
    const oursEvents = auditSince(auditLog, auditOffset);
    const ours = countRequests(oursEvents, (u) => u === sa);
    const oursBind = bindings(oursEvents, ns);

    // ---------------------------------------------------------------- peer: 1,000 single Jobs, kubectl apply
    const hardware = DEFAULT_HARDWARE.find((h) => h.name === 'gpu-t4')!;
    const docs = Array.from({ length: N }, (_, i) =>
      stringify(
        runJob(
          {
            id: newId('run'), model: 'counter', version: 'v1', entrypoint: 'train', command: 'python train.py', params: { i }, hardware,
            maxDurationSeconds: 86_400, sweepId: null, parallelism: null, image: { ref: saved.version.imageRef, digest: saved.version.digest, baseImage: saved.version.baseImage ?? null },
          },
          { namespace: peerNs, ttlSecondsAfterFinished: 86_400 },
        ),
      ),
    );
    const yamlFile = join(cluster.info.state, 'peer-jobs.yaml');
    writeFileSync(yamlFile, docs.join('---\n'));
    const peerOffset = auditSize(auditLog);
    const peerWall0 = Date.now();
    const p0 = performance.now();
    await run(kubectlBin, ['--kubeconfig', cluster.info.kubeconfig, 'apply', '-f', yamlFile], { maxBuffer: 64 << 20 });
    const tApply = performance.now() - p0;
    let tPeerRunning = NaN, tPeerDone = NaN, peerSucceeded = 0, peerStarted = 0;
    const peerDeadline = p0 + PHASE_TIMEOUT_MS;
    while (performance.now() < peerDeadline) {
      const pods = await cluster.admin.core.listNamespacedPod({ namespace: peerNs, resourceVersion: '0' });
      const now = performance.now() - p0;
      peerStarted = pods.items.filter((p) => p.status?.startTime || p.status?.phase === 'Succeeded').length;
      peerSucceeded = pods.items.filter((p) => p.status?.phase === 'Succeeded').length;
      if (peerStarted >= N && Number.isNaN(tPeerRunning)) tPeerRunning = now;
      if (peerSucceeded >= N) {
        tPeerDone = now;
        break;
      }
      await sleep(500);
    }
    await sleep(1000);
    const peerEvents = auditSince(auditLog, peerOffset);
    // admin is kubectl, and the bench's own pod polling (list pods), which is left out
    const peer = countRequests(peerEvents.filter((e) => !(e.verb === 'list' && e.objectRef?.resource === 'pods')), (u) => u === 'admin');
    const peerBind = bindings(peerEvents, peerNs);

    // ---------------------------------------------------------------- report
    const s = (x: number) => (Number.isNaN(x) ? `> ${PHASE_TIMEOUT_MS / 1000} s` : `${(x / 1000).toFixed(2)} s`);
    const oursSched = oursBind.last - wall0, peerSched = peerBind.last - peerWall0;
    table(`1,000-run sweep on ${NODES} kwok GPU nodes (1 GPU each, pods run 1 s): from the POST / kubectl start`, [
      { what: 'POST /v1/runs -> response (ours) | kubectl apply exits (peer)', ours: s(tPost), peer: s(tApply) },
      { what: 'scheduler: first pod bound', ours: s(oursBind.first - wall0), peer: s(peerBind.first - peerWall0) },
      { what: `scheduler: all pods bound (${oursBind.count} | ${peerBind.count} bindings)`, ours: s(oursSched), peer: s(peerSched) },
      { what: `all runs recorded Running in the store (${oursRunning}) | pods started (${peerStarted}, polled 0.5 s)`, ours: s(tAllRunning), peer: s(tPeerRunning) },
      { what: `all recorded Succeeded (${oursDone}) | pods Succeeded (${peerSucceeded}, polled)`, ours: s(tAllDone), peer: s(tPeerDone) },
      { what: 'API writes by the launcher (audit: SA | admin)', ours: ours.writes, peer: peer.writes },
      { what: 'API reads by the launcher (get/list, no watch)', ours: ours.reads, peer: peer.reads },
      { what: 'all writes in the namespace (incl. controllers, scheduler, kwok)', ours: totalWrites(oursEvents, ns), peer: totalWrites(peerEvents, peerNs) },
    ]);
    table('backend process (in-process: the bench adds only an event-bus listener)', [
      { what: 'CPU time, POST -> response (user+sys)', value: `${ms((cpuPost.user + cpuPost.system) / 1000)} ms` },
      { what: 'CPU time, POST -> all Succeeded (user+sys)', value: `${ms((cpu.user + cpu.system) / 1000)} ms` },
      { what: 'RSS before launch', value: `${(rssBefore / 2 ** 20).toFixed(0)} MiB` },
      { what: 'peak RSS during the sweep (sampled 100 ms)', value: `${(peakRss / 2 ** 20).toFixed(0)} MiB` },
    ]);
    console.log(`\nrun updates published by the store during the sweep (each a row update + read): ${kinds(runEvents)}; ${eventsBeforeResponse} before the POST's response`);
    console.log(`ours writes: ${kinds(ours.byKind)}`);
    console.log(`ours reads: ${kinds(ours.readsByKind)}`);
    console.log(`peer writes: ${kinds(peer.byKind)}`);
    console.log(`peer reads: ${kinds(peer.readsByKind)}`);
    console.log(`writes in ${ns} by user: ${writesByUser(oursEvents, ns)}`);
    console.log(`writes in ${peerNs} by user: ${writesByUser(peerEvents, peerNs)}`);
    console.log(`\ntargets: response < 1 s: ${tPost < 1000 ? 'met' : 'MISSED'}; all Running within the scheduler's all-bound time: ${tAllRunning <= oursSched * 1.05 ? 'met' : 'MISSED'} (last run recorded Running ${ms(tAllRunning - oursSched)} ms after the scheduler's last binding); >= 10x fewer writes than one Job per run: ${peer.writes / Math.max(1, ours.writes) >= 10 ? 'met' : 'MISSED'}`);

    ratio('k8s-sweep-post', 'ours/kubectl-apply', tPost / tApply);
    ratio('k8s-sweep-writes', 'peer/ours', peer.writes / Math.max(1, ours.writes));
    ratio('k8s-sweep-all-running', 'ours/scheduler', tAllRunning / oursSched);
    ratio('k8s-sweep-all-running', 'ours/peer-pods-started', tAllRunning / tPeerRunning);
    ratio('k8s-sweep-all-bound', 'ours/peer', oursSched / peerSched);
    ratio('k8s-sweep-all-succeeded', 'ours/peer', tAllDone / tPeerDone);
    printRatios();
  } finally {
    if (backend) {
      await backend.close().catch(() => undefined);
      removeHome(backend.home);
    }
    await cluster.stop();
  }
}

await main();
