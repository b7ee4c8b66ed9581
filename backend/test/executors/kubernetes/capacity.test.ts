// Pure parts of availability that the capacity caches feed: what a pod holds (init containers,
// sidecars, overhead), which pods hold anything, GPU resources other than NVIDIA's, and
// autoscaled pools (explicit, learned from node-pool labels, or turned off); the slim cache
// objects keep what availability reads; config refuses a bad gpu.resource with a clear error.
import assert from 'node:assert/strict';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { HardwareProfile } from '@trainyard/shared';
import { availabilityFor, holdsResources, podRequests } from '../../../src/executors/kubernetes/capacity';
import { slimNode, slimPod } from '../../../src/executors/kubernetes/cluster-capacity';
import { resourcesOf } from '../../../src/executors/kubernetes/manifests';
import { ConfigError, resolveConfig } from '../../../src/config';

const node = (name: string, alloc: Record<string, string>, labels: Record<string, string> = {}, extra: Partial<V1Node['spec']> = {}): V1Node => ({
  metadata: { name, uid: `u-${name}`, resourceVersion: '7', labels, annotations: { big: 'x'.repeat(100) } },
  spec: { ...extra },
  status: {
    allocatable: { pods: '110', ...alloc },
    conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
    images: [{ names: ['some/image'], sizeBytes: 1 }],
  },
});
const pod = (nodeName: string | undefined, requests: Record<string, string>, phase = 'Running'): V1Pod => ({
  metadata: { name: 'p', namespace: 'other', uid: 'u', resourceVersion: '9', labels: { a: 'b' } },
  spec: { nodeName, containers: [{ name: 'c', image: 'x', env: [{ name: 'E', value: 'v' }], resources: { requests } }] },
  status: { phase, conditions: [{ type: 'Ready', status: 'True' }] },
});
const AMD: HardwareProfile = { name: 'gpu-mi300', cpu: 4, memory: '16Gi', gpu: { type: 'amd-mi300x', count: 1, resource: 'amd.com/gpu' }, pricePerHour: 3 };

describe('kubernetes capacity: what pods hold', () => {
  it('counts the larger of containers (+ sidecars) and the largest init container, plus overhead', () => {
    const p: V1Pod = {
      spec: {
        nodeName: 'n',
        initContainers: [
          { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '250m' } } },
          { name: 'fetch', resources: { requests: { cpu: '3', memory: '1Gi' } } },
        ],
        containers: [{ name: 'a', resources: { requests: { cpu: '1', memory: '2Gi' } } }, { name: 'b', resources: { requests: { cpu: '500m', 'amd.com/gpu': '1' } } }],
        overhead: { cpu: '100m' },
      },
    };
    const r = podRequests(p);
    assert.equal(r.get('cpu'), 3 + 0.25 + 0.1, 'the init container (with the sidecar before it) is the larger, plus overhead');
    assert.equal(r.get('memory'), 2 * 1024 ** 3);
    assert.equal(r.get('amd.com/gpu'), 1);
  });

  it('only bound, unfinished pods hold resources', () => {
    assert.ok(holdsResources(pod('n', {})));
    assert.ok(holdsResources(pod('n', {}, 'Pending')));
    assert.ok(!holdsResources(pod(undefined, {}, 'Pending')));
    assert.ok(!holdsResources(pod('n', {}, 'Succeeded')));
    assert.ok(!holdsResources(pod('n', {}, 'Failed')));
  });

  it('the slim cache objects keep what availability reads, and give the same answer', () => {
    const nodes = [node('a', { cpu: '4', memory: '8Gi' }, { pool: 'x' }, { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }), node('b', { cpu: '2', memory: '8Gi' }, { pool: 'x' }, { unschedulable: true })];
    const pods = [pod('a', { cpu: '1' })];
    const profiles: HardwareProfile[] = [
      { name: 'tol', cpu: 1, memory: '1Gi', pricePerHour: 1, nodeSelector: { pool: 'x' }, tolerations: [{ key: 'k', operator: 'Exists' }] },
      { name: 'notol', cpu: 1, memory: '1Gi', pricePerHour: 1, nodeSelector: { pool: 'x' } },
    ];
    const slimN = nodes.map(slimNode);
    const slimP = pods.map(slimPod);
    assert.deepEqual(availabilityFor(profiles, slimN, slimP), availabilityFor(profiles, nodes, pods));
    assert.equal(availabilityFor(profiles, slimN, slimP).get('tol')!.slots, 3);
    assert.equal(slimN[0].metadata!.annotations, undefined);
    assert.equal(slimN[0].status!.images, undefined);
    assert.deepEqual(slimN[0].status!.conditions!.map((c) => c.type), ['Ready']);
    assert.deepEqual(slimP[0].metadata, { name: 'p', namespace: 'other', uid: 'u', resourceVersion: '9' });
    assert.equal(slimP[0].spec!.containers[0].env, undefined);
  });
});

describe('kubernetes capacity: GPU resources and autoscaled pools', () => {
  it('a profile with gpu.resource counts that resource on nodes and requests it in the pod', () => {
    const nodes = [node('nv', { cpu: '16', memory: '64Gi', 'nvidia.com/gpu': '4' }), node('amd', { cpu: '16', memory: '64Gi', 'amd.com/gpu': '2' })];
    const a = availabilityFor([AMD], nodes, [pod('amd', { 'amd.com/gpu': '1' }), pod('nv', { 'nvidia.com/gpu': '4' })]);
    assert.deepEqual(a.get('gpu-mi300'), { status: 'fits-now', slots: 1, reason: '1 more run(s) of gpu-mi300 fit now' });
    const none = availabilityFor([{ ...AMD, gpu: { ...AMD.gpu!, count: 3 } }], nodes, []);
    assert.equal(none.get('gpu-mi300')!.status, 'cannot-fit');
    assert.match(none.get('gpu-mi300')!.reason, /no node has 3 amd\.com\/gpu \(the most any matching node has is 2\)/);
    assert.deepEqual(resourcesOf(AMD).requests, { cpu: '4', memory: '16Gi', 'amd.com/gpu': '1' });
    assert.deepEqual(resourcesOf(AMD).limits, resourcesOf(AMD).requests);
    const nv = { ...AMD, gpu: { type: 't4', count: 2 } };
    assert.deepEqual(resourcesOf(nv).requests, { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '2' });
  });

  it('autoscaled: no node with the GPU now means will queue with scaleUp, not cannot fit; busy nodes too', () => {
    const cpuOnly = [node('c', { cpu: '8', memory: '32Gi' })];
    const plain = availabilityFor([AMD], cpuOnly, []).get('gpu-mi300')!;
    assert.equal(plain.status, 'cannot-fit');
    assert.equal(plain.scaleUp, undefined);
    const marked = availabilityFor([{ ...AMD, autoscaled: true }], cpuOnly, []).get('gpu-mi300')!;
    assert.equal(marked.status, 'will-queue');
    assert.equal(marked.scaleUp, true);
    assert.match(marked.reason, /^no node has 1 amd\.com\/gpu .* now; scale-up expected: the profile is marked autoscaled/);
    const amdNode = [node('amd', { cpu: '16', memory: '64Gi', 'amd.com/gpu': '1' })];
    const busy = availabilityFor([{ ...AMD, autoscaled: true }], amdNode, [pod('amd', { 'amd.com/gpu': '1' })]).get('gpu-mi300')!;
    assert.deepEqual([busy.status, busy.scaleUp], ['will-queue', true]);
    const busyPlain = availabilityFor([AMD], amdNode, [pod('amd', { 'amd.com/gpu': '1' })]).get('gpu-mi300')!;
    assert.deepEqual([busyPlain.status, busyPlain.scaleUp], ['will-queue', undefined]);
    assert.match(busyPlain.reason, /busy or cordoned; a run waits for one to free up/);
    const fits = availabilityFor([{ ...AMD, autoscaled: true }], amdNode, []).get('gpu-mi300')!;
    assert.deepEqual([fits.status, fits.scaleUp], ['fits-now', undefined]);
  });

  it('learns autoscaling from node-pool labels (Karpenter, GKE), unless the profile says autoscaled: false', () => {
    const karpenter = [node('k1', { cpu: '4', memory: '16Gi' }, { 'karpenter.sh/nodepool': 'default', team: 'ml' })];
    const learned = availabilityFor([{ ...AMD, nodeSelector: { team: 'ml' } }], karpenter, []).get('gpu-mi300')!;
    assert.deepEqual([learned.status, learned.scaleUp], ['will-queue', true]);
    assert.match(learned.reason, /its nodes carry the node-pool label karpenter\.sh\/nodepool/);
    const gkePool = { ...AMD, nodeSelector: { 'cloud.google.com/gke-nodepool': 'mi300-pool' } };
    const scaledToZero = availabilityFor([gkePool], karpenter, []).get('gpu-mi300')!;
    assert.deepEqual([scaledToZero.status, scaledToZero.scaleUp], ['will-queue', true]);
    assert.match(scaledToZero.reason, /no node has the labels cloud\.google\.com\/gke-nodepool=mi300-pool now; scale-up expected: its nodeSelector names the node pool/);
    const off = availabilityFor([{ ...gkePool, autoscaled: false }], karpenter, []).get('gpu-mi300')!;
    assert.deepEqual([off.status, off.scaleUp], ['cannot-fit', undefined]);
    const unlabeled = availabilityFor([{ ...AMD, nodeSelector: { team: 'ml' } }], [node('n', { cpu: '4', memory: '16Gi' }, { team: 'ml' })], []).get('gpu-mi300')!;
    assert.equal(unlabeled.status, 'cannot-fit');
  });

  it('config: gpu.resource and autoscaled are accepted; a malformed or kubernetes.io resource is refused saying what to write', () => {
    const cfg = resolveConfig({ hardware: [{ ...AMD, autoscaled: true }] }, '/tmp');
    assert.equal(cfg.hardware[0].gpu!.resource, 'amd.com/gpu');
    assert.equal(cfg.hardware[0].autoscaled, true);
    const bad = (resource: string) => () => resolveConfig({ hardware: [{ ...AMD, gpu: { ...AMD.gpu!, resource } }] }, '/tmp');
    assert.throws(bad('gpu'), (e: Error) => e instanceof ConfigError && /hardware profile "gpu-mi300": gpu\.resource must be a Kubernetes extended resource name, domain\/name, such as nvidia\.com\/gpu.*\(got "gpu"\)/.test(e.message));
    assert.throws(bad('AMD.com/gpu'), /gpu\.resource must be a Kubernetes extended resource name/);
    assert.throws(bad('kubernetes.io/gpu'), /gpu\.resource "kubernetes\.io\/gpu" is in the kubernetes\.io domain/);
    assert.throws(() => resolveConfig({ hardware: [{ ...AMD, autoscaled: 'yes' }] }, '/tmp'), /\/hardware\/0\/autoscaled/);
  });
});
