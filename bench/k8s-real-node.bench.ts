/**
 * One small run on the rig's REAL node (kubelet + containerd; test/k8s/real-node.sh): what Trainyard
 * adds to what Kubernetes itself takes.
 *
 * Ours: the backend in-process (`executor.kind: kubernetes`, as the deploy/ ServiceAccount), a
 * version of test/fixtures/real-node saved with the debootstrap base into the rig's registry;
 * POST /v1/runs on cpu-real, then the moments the store records Running and Succeeded (from the
 * backend's event stream, which the store's updates publish).
 *
 * Peer, same rig, same image, in a namespace no backend watches: the executor's own runJob()
 * manifest for an equivalent run, `kubectl apply -f` (kubectl from `test/k8s/build.sh kubectl`);
 * measured from kubectl's start to a pod watch seeing the container running, then terminated.
 *
 * Both sides run BENCH_REPEAT (5) times, alternating, after one warm-up each that pulls the
 * image onto the node. Target: Trainyard adds at most 300 ms to Kubernetes' own times.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { V1Pod } from '@kubernetes/client-node';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import type { HardwareProfile } from '@trainyard/shared';
import { DEFAULT_HARDWARE } from '../backend/src/config';
import { runJob } from '../backend/src/executors/kubernetes/manifests';
import { newId } from '../backend/src/ids';
import { ensureBaseImage } from '../test/components/base-image';
import { removeHome, startTestBackend } from '../test/helpers/backend';
import { REPO, startCluster } from '../test/k8s/cluster';
import { median, ms, printRatios, ratio, step, table } from './lib';

const run = promisify(execFile);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
const CPU_REAL: HardwareProfile = {
  name: 'cpu-real', cpu: 0.5, memory: '256Mi', pricePerHour: 0.02,
  nodeSelector: { 'trainyard.dev/node': 'real' }, tolerations: [{ key: 'trainyard.dev/node', operator: 'Equal', value: 'real', effect: 'NoSchedule' }],
};

const cluster = await step('rig with its real node (test/k8s/up.sh)', () => startCluster({ realNode: true }));
const kubectl = await step('kubectl (test/k8s/build.sh kubectl)', async () => {
  const { stdout } = await run('bash', [join(REPO, 'test/k8s/build.sh'), 'kubectl'], { maxBuffer: 16 << 20, timeout: 3 * 60 * 60 * 1000 });
  return join(stdout.trim().split('\n').pop()!, 'kubectl');
});
const ns = await cluster.namespace('bench');
await cluster.applyDeploy(ns, ['serviceaccount.yaml', 'role.yaml', 'clusterrole.yaml']);
const peerNs = await cluster.namespace('peer');
const b = await startTestBackend({
  images: { registry: `${cluster.info.registry}/team` },
  executor: { kind: 'kubernetes', kubernetes: { kubeconfig: await cluster.serviceAccountKubeconfig(ns), namespace: ns } },
  hardware: [...DEFAULT_HARDWARE, CPU_REAL],
});
try {
  const saved = await step('save the probe into the rig registry', async () =>
    (await saveWorkspace(b.client, { dir: join(REPO, 'test/fixtures/real-node'), model: 'probe', version: 'b1', baseImage: `oci-layout:${await ensureBaseImage()}:latest`, cacheDir: false })).version);
  const params = { mode: 'metric', value: 1 };

  // ours: POST, then Running and Succeeded as the store records them
  const stamps = new Map<string, { running?: number; final?: number; status?: string }>();
  const stop = new AbortController();
  void (async () => {
    for await (const e of b.client.events({ signal: stop.signal })) {
      if (e.kind !== 'run') continue;
      const s = stamps.get(e.data.id) ?? {};
      if (e.data.status === 'Running' && !s.running) s.running = Date.now();
      if (['Succeeded', 'Failed', 'Cancelled'].includes(e.data.status) && !s.final) (s.final = Date.now()), (s.status = e.data.status);
      stamps.set(e.data.id, s);
    }
  })().catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300));
  async function ours(): Promise<{ running: number; done: number; podRunning: number; podDone: number }> {
    const t0 = Date.now();
    const id = (await b.client.launch({ model: 'probe', version: saved.label, hardware: 'cpu-real', params })).runs[0].id;
    await until(() => !!stamps.get(id)?.final && !!oursPods.times.get(id)?.done, `run ${id} to finish`);
    const s = stamps.get(id)!;
    if (s.status !== 'Succeeded' || !s.running) throw new Error(`run ${id} ended ${s.status}, running seen: ${!!s.running}`);
    const pod = oursPods.times.get(id)!;
    return { running: s.running - t0, done: s.final! - t0, podRunning: pod.running - t0, podDone: pod.done - t0 };
  }

  /** a pod watch on a namespace: per run id, when its container is first seen started, and its pod Succeeded */
  async function podTimes(namespace: string) {
    const times = new Map<string, { running: number; done: number }>();
    const req = await cluster.admin.watch.watch(`/api/v1/namespaces/${namespace}/pods`, {}, (_type: string, pod: V1Pod) => {
      const id = pod.metadata?.labels?.['trainyard.dev/run-id'];
      if (!id) return;
      const t = times.get(id) ?? { running: 0, done: 0 };
      const st = pod.status?.containerStatuses?.[0]?.state;
      if ((st?.running || st?.terminated) && !t.running) t.running = Date.now();
      if (pod.status?.phase === 'Succeeded' && !t.done) t.done = Date.now();
      times.set(id, t);
    }, () => undefined);
    return { times, stop: () => req.abort() };
  }
  const oursPods = await podTimes(ns);
  const peerPods = await podTimes(peerNs);
  const until = async (pred: () => boolean, what: string) => {
    for (const end = Date.now() + 120_000; !pred(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) throw new Error(`timed out: ${what}`);
  };

  // peer: the same Job manifest through kubectl, timed by the pod watch
  async function peer(): Promise<{ running: number; done: number }> {
    const spec = {
      id: newId('run'), model: 'probe', version: saved.label, entrypoint: 'train', command: saved.entrypoints.train, params, hardware: CPU_REAL,
      maxDurationSeconds: 600, sweepId: null, parallelism: null, image: { ref: saved.imageRef, digest: saved.digest, baseImage: saved.baseImage },
    };
    const file = join(cluster.info.state, `peer-${spec.id}.yaml`);
    writeFileSync(file, stringify(runJob(spec, { namespace: peerNs, ttlSecondsAfterFinished: 600 })));
    const t0 = Date.now();
    await run(kubectl, ['--kubeconfig', cluster.info.kubeconfig, 'apply', '-f', file]);
    await until(() => !!peerPods.times.get(spec.id)?.done, `the peer's pod of ${spec.id} to succeed`);
    const t = peerPods.times.get(spec.id)!;
    return { running: t.running - t0, done: t.done - t0 };
  }

  await step('warm-up (pulls the image onto the node)', async () => {
    await ours();
    await peer();
  });
  const o: Array<{ running: number; done: number; podRunning: number; podDone: number }> = [];
  const p: Array<{ running: number; done: number }> = [];
  for (let i = 0; i < REPEAT; i++) {
    o.push(await ours());
    p.push(await peer());
  }
  stop.abort();
  oursPods.stop();
  peerPods.stop();
  const row = (name: string, xs: Array<{ running: number; done: number }>) => ({
    '': name,
    'to Running (median ms)': ms(median(xs.map((x) => x.running))),
    'to Succeeded (median ms)': ms(median(xs.map((x) => x.done))),
    'each run (running / done)': xs.map((x) => `${x.running}/${x.done}`).join(' '),
  });
  table(`one small run on the real node, ${REPEAT} each`, [
    row('Trainyard: POST /v1/runs → store', o),
    row('  (its pod, as a watch sees it)', o.map((x) => ({ running: x.podRunning, done: x.podDone }))),
    row('kubectl apply of the same Job → pod', p),
  ]);
  const addRunning = median(o.map((x) => x.running)) - median(p.map((x) => x.running));
  const addDone = median(o.map((x) => x.done)) - median(p.map((x) => x.done));
  const ownRunning = median(o.map((x) => x.running - x.podRunning));
  const ownDone = median(o.map((x) => x.done - x.podDone));
  console.log(`\nagainst kubectl: Trainyard adds ${ms(addRunning)} ms to Running and ${ms(addDone)} ms to Succeeded (target: at most 300 ms each)`);
  console.log(`against its own pod: the store has Running ${ms(ownRunning)} ms and Succeeded ${ms(ownDone)} ms after a watch sees them (medians)`);
  ratio('real-node-to-running', 'trainyard/kubectl', median(o.map((x) => x.running)) / median(p.map((x) => x.running)));
  ratio('real-node-to-succeeded', 'trainyard/kubectl', median(o.map((x) => x.done)) / median(p.map((x) => x.done)));
  printRatios();
} finally {
  await b.close();
  removeHome(b.home);
  await cluster.stop();
}
