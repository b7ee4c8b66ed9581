// Availability on Kubernetes comes from informer caches, not from lists per request, proven
// with the real API server's audit log (the rig's kube-apiserver runs with an audit
// policy): N GET /v1/hardware and estimates of the whole backend make no request at all as
// its ServiceAccount, and a launch lists no pods or nodes. The caches follow the cluster by
// watch events: a pod bound to the GPU node, a cordon, and a node that appears (what an
// autoscaler does) change the answer. An autoscaled profile with a non-NVIDIA GPU resource
// reads "will queue" with scaleUp, is launched rather than refused, requests its resource,
// and runs once such a node joins. Without the capacity ClusterRole the executor still starts,
// availability says why it cannot read capacity, and follows once the role is bound.
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import type { HardwareProfile } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { DEFAULT_HARDWARE } from '../../backend/src/config';
import { KubernetesExecutor } from '../../backend/src/executors/kubernetes';
import { RecordingSink } from '../../backend/test/executors/local/helpers';
import { ensureBaseImage } from '../components/base-image';
import { COUNTER, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';
import { sleep, startCluster, until, type Cluster } from './cluster';

interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string };
}

// every request except the control plane's own and the admin's (the test's), with its verb and URI
const AUDIT_POLICY = [
  'apiVersion: audit.k8s.io/v1',
  'kind: Policy',
  'omitStages: [RequestReceived]',
  'rules:',
  '- level: None',
  '  userGroups: ["system:masters", "system:nodes"]',
  '- level: None',
  '  users: ["system:kube-controller-manager", "system:kube-scheduler", "system:apiserver"]',
  '- level: Metadata',
  '',
].join('\n');

const MI300: HardwareProfile = {
  name: 'gpu-mi300',
  cpu: 4,
  memory: '16Gi',
  gpu: { type: 'amd-mi300x', count: 1, resource: 'amd.com/gpu' },
  nodeSelector: { 'trainyard.dev/gpu': 'amd-mi300x' },
  autoscaled: true,
  pricePerHour: 3,
};

describe('kubernetes availability from informer caches (real API server, audit log)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let b: TestBackend;
  let ns: string;
  let auditLog: string;
  let user: string;

  /** the ServiceAccount's requests logged after byte offset `from` (one per request) */
  const requestsSince = (from: number): AuditEvent[] => {
    const text = readFileSync(auditLog, 'utf8').slice(from);
    const seen = new Map<string, AuditEvent>();
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as AuditEvent;
      if (e.user?.username === user && !seen.has(e.auditID)) seen.set(e.auditID, e);
    }
    return [...seen.values()];
  };
  const offset = () => statSync(auditLog).size;
  const show = (es: AuditEvent[]) => es.map((e) => `${e.verb} ${e.requestURI}`).join('\n');
  const hardware = async () => new Map((await b.client.listHardware()).items.map((h) => [h.name, h.availability]));

  before(async function () {
    this.timeout(3 * 60 * 60 * 1000); // a fresh machine builds the rig's binaries first
    cluster = await startCluster({
      apiServerArgs: (state) => {
        const policy = join(state, 'audit-policy.yaml');
        auditLog = join(state, 'audit.log');
        writeFileSync(policy, AUDIT_POLICY);
        return [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`];
      },
    });
    ns = await cluster.namespace('tyc');
    user = `system:serviceaccount:${ns}:trainyard`;
    await cluster.applyDeploy(ns, ['serviceaccount.yaml', 'role.yaml', 'clusterrole.yaml']);
    const kubeconfig = await cluster.serviceAccountKubeconfig(ns);
    b = await startTestBackend({ executor: { kind: 'kubernetes', kubernetes: { kubeconfig, namespace: ns } }, hardware: [...DEFAULT_HARDWARE, MI300] });
    await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1', baseImage: `oci-layout:${await ensureBaseImage()}:latest` });
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
    await cluster?.stop();
  });

  it('the backend listed nodes and pods once at start, cluster-wide, with watch', () => {
    const es = requestsSince(0);
    const lists = es.filter((e) => e.verb === 'list' && (e.objectRef?.resource === 'nodes' || e.objectRef?.resource === 'pods'));
    const clusterWide = lists.filter((e) => !e.objectRef?.namespace);
    assert.equal(clusterWide.filter((e) => e.objectRef!.resource === 'nodes').length, 1, show(lists));
    assert.equal(clusterWide.filter((e) => e.objectRef!.resource === 'pods').length, 1, show(lists));
    assert.match(clusterWide.find((e) => e.objectRef!.resource === 'pods')!.requestURI, /fieldSelector=spec\.nodeName%21%3D%2Cstatus\.phase%21%3DSucceeded%2Cstatus\.phase%21%3DFailed/);
    const watches = es.filter((e) => e.verb === 'watch' && !e.objectRef?.namespace).map((e) => e.objectRef?.resource);
    assert.ok(watches.includes('nodes') && watches.includes('pods'), show(es));
  });

  it('N hardware requests and estimates make no API request; a launch lists no pods or nodes', async () => {
    const N = 40;
    const from = offset();
    for (let i = 0; i < N; i++) await b.client.listHardware();
    for (let i = 0; i < N / 4; i++) await b.client.estimate({ model: 'counter', hardware: 'gpu-t4' });
    await sleep(1000);
    const during = requestsSince(from).filter((e) => e.verb !== 'watch');
    console.log(`    ${N} GET /v1/hardware + ${N / 4} estimates: ${during.length} API request(s) as the ServiceAccount (the replaced code listed nodes and pods for each: ${2 * (N + N / 4)})`);
    assert.deepEqual(during, [], show(during));

    const before = offset();
    const res = await b.client.launch({ model: 'counter', params: { steps: 1 } });
    const [run] = await waitForRuns(b.client, [res.runs[0].id]);
    assert.equal(run.status, 'Succeeded', run.reason ?? '');
    await sleep(1000);
    const launch = requestsSince(before).filter((e) => e.verb !== 'watch');
    console.log(`    one launch to Succeeded: ${launch.length} API request(s): ${[...new Set(launch.map((e) => `${e.verb} ${e.objectRef?.resource}`))].join(', ')}`);
    const lists = launch.filter((e) => e.verb === 'list' && (e.objectRef?.resource === 'pods' || e.objectRef?.resource === 'nodes'));
    assert.deepEqual(lists, [], show(lists));
  });

  it('follows the cluster by watch events: a pod bound to the GPU node, a cordon, the pod deleted', async () => {
    assert.equal((await hardware()).get('gpu-t4')!.status, 'fits-now');
    const other = await cluster.namespace('other');
    await cluster.admin.core.createNamespacedPod({
      namespace: other,
      body: {
        metadata: { name: 'holds-the-gpu', annotations: { 'kwok.trainyard.dev/run-for': '600s' } },
        spec: {
          nodeName: 'kwok-gpu-t4-1',
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '1', 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } } }],
        },
      },
    });
    const from = offset();
    await until(async () => (await hardware()).get('gpu-t4')!.status === 'will-queue', 'gpu-t4 to read will-queue after a pod took the GPU', 10_000);
    assert.match((await hardware()).get('gpu-t4')!.reason, /busy or cordoned; a run waits for one to free up/);

    const cpuSlots = (await hardware()).get('cpu-small')!.slots;
    // a JSON patch (the client's default patch type)
    await cluster.admin.core.patchNode({ name: 'kwok-cpu-1', body: [{ op: 'add', path: '/spec/unschedulable', value: true }] });
    await until(async () => (await hardware()).get('cpu-small')!.slots === cpuSlots - 8, `cpu-small to lose kwok-cpu-1's 8 slots (had ${cpuSlots})`, 10_000);
    await cluster.admin.core.patchNode({ name: 'kwok-cpu-1', body: [{ op: 'replace', path: '/spec/unschedulable', value: false }] });
    await until(async () => (await hardware()).get('cpu-small')!.slots === cpuSlots, 'cpu-small to get its slots back after uncordon', 10_000);

    await cluster.admin.core.deleteNamespacedPod({ name: 'holds-the-gpu', namespace: other, gracePeriodSeconds: 0 });
    await until(async () => (await hardware()).get('gpu-t4')!.status === 'fits-now', 'gpu-t4 to fit again once the pod is gone', 10_000);
    const lists = requestsSince(from).filter((e) => e.verb === 'list');
    assert.deepEqual(lists, [], show(lists));
  });

  it('an autoscaled profile with amd.com/gpu: will queue with scaleUp, launched (not refused), requests amd.com/gpu, runs once a node joins', async () => {
    const a = (await hardware()).get('gpu-mi300')!;
    assert.equal(a.status, 'will-queue');
    assert.equal(a.scaleUp, true);
    assert.match(a.reason, /no node has the labels trainyard\.dev\/gpu=amd-mi300x now; scale-up expected: the profile is marked autoscaled/);
    const res = await b.client.launch({ model: 'counter', hardware: 'gpu-mi300', params: { steps: 1 } });
    const id = res.runs[0].id;
    await until(async () => /waiting for a node/.test((await b.client.getRun(id)).reason ?? ''), 'the run to wait for a node', 30_000);
    const jobs = await cluster.admin.batch.listNamespacedJob({ namespace: ns, labelSelector: `trainyard.dev/run-id=${id}` });
    assert.deepEqual(jobs.items[0].spec!.template.spec!.containers[0].resources!.requests, { cpu: '4', memory: '16Gi', 'amd.com/gpu': '1' });

    // what a scale-up does: a node with the GPU joins (a kwok node, as test/k8s/up.sh makes them)
    await cluster.admin.core.createNode({ body: amdNode('kwok-mi300-1') });
    const [run] = await waitForRuns(b.client, [id], 60_000);
    assert.equal(run.status, 'Succeeded', run.reason ?? '');
    await until(async () => (await hardware()).get('gpu-mi300')!.status === 'fits-now', 'gpu-mi300 to fit now on the new node', 10_000);
  });

  it('without the capacity ClusterRole the executor still starts and says it cannot read capacity; once granted, availability follows without a restart', async () => {
    const bare = await cluster.namespace('tyn');
    await cluster.applyDeploy(bare, ['serviceaccount.yaml', 'role.yaml']);
    const msgs: string[] = [];
    const ex = new KubernetesExecutor({ kube: await cluster.serviceAccountClients(bare), namespace: bare, log: (m) => msgs.push(m) });
    await ex.start(new RecordingSink(), []);
    try {
      const a = (await ex.availability([DEFAULT_HARDWARE[0]])).get('cpu-small')!;
      assert.equal(a.status, 'will-queue');
      assert.match(a.reason, /^cannot read the cluster's capacity \(listing (nodes|pods): 403: /);
      assert.ok(msgs.some((m) => /retrying in the background/.test(m)), msgs.join('\n'));
      await cluster.applyDeploy(bare, ['clusterrole.yaml']);
      await until(async () => (await ex.availability([DEFAULT_HARDWARE[0]])).get('cpu-small')!.status === 'fits-now', 'cpu-small to fit now once the ClusterRole is bound', 40_000);
    } finally {
      await ex.stop();
    }
  });
});


function amdNode(name: string): V1Node {
  const res = { cpu: '16', memory: '64Gi', pods: '110', 'amd.com/gpu': '1' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok', 'trainyard.dev/gpu': 'amd-mi300x' },
    },
    status: { capacity: res, allocatable: res },
  };
}
