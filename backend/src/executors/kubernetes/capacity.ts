/**
 * Live availability per hardware profile, from the nodes and the pods on them (pure: the
 * caches of cluster-capacity.ts feed it). A node can take a run when its labels match the
 * profile's nodeSelector, the profile tolerates its NoSchedule/NoExecute taints, it is
 * schedulable and Ready, and its allocatable CPU, memory, GPU resource (the profile's
 * gpu.resource, default nvidia.com/gpu) and pod count minus the requests of the pods bound
 * to it cover the profile. Slots = how many more runs fit now.
 *
 * When no node takes a run now: a profile whose nodes come from an autoscaled pool
 * (autoscaled: true, or learned from node-pool labels: autoscalingEvidence) will queue with
 * scaleUp, since the autoscaler adds a node for a pending pod; otherwise it will queue when a
 * node could hold it once others finish, and cannot fit when no node could ever hold it (with
 * the reason closest to fitting).
 */
import type { V1Container, V1Node, V1Pod, V1Toleration } from '@kubernetes/client-node';
import type { Availability, HardwareProfile } from '@trainyard/shared';
import { gpuResource } from './manifests';

/** a Kubernetes quantity in base units (cores, bytes, counts) */
export function quantity(q: string | number | undefined | null): number {
  if (q === undefined || q === null || q === '') return 0;
  if (typeof q === 'number') return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return 0;
  const n = Number(m[1]);
  const mult: Record<string, number> = {
    '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
  };
  return n * (mult[m[2]] ?? 1);
}

/** resource name -> amount in base units */
export type Resources = Map<string, number>;
/** node name -> what its pods request, plus how many pods it holds */
export type NodeUsage = Map<string, { requests: Resources; pods: number }>;

function add(into: Resources, from: Record<string, string> | undefined, sign = 1): void {
  for (const [k, v] of Object.entries(from ?? {})) into.set(k, (into.get(k) ?? 0) + sign * quantity(v));
}

function requestsOf(c: V1Container): Resources {
  const r: Resources = new Map();
  add(r, c.resources?.requests as Record<string, string> | undefined);
  return r;
}

/**
 * What the scheduler counts for a pod: the larger of its containers (plus sidecars) and
 * its largest init container (plus the sidecars started before it), plus the pod overhead.
 */
export function podRequests(pod: V1Pod): Resources {
  const main: Resources = new Map();
  for (const c of pod.spec?.containers ?? []) for (const [k, v] of requestsOf(c)) main.set(k, (main.get(k) ?? 0) + v);
  const sidecars: Resources = new Map();
  const initMax: Resources = new Map();
  for (const c of pod.spec?.initContainers ?? []) {
    const r = requestsOf(c);
    if (c.restartPolicy === 'Always') {
      for (const [k, v] of r) sidecars.set(k, (sidecars.get(k) ?? 0) + v);
      continue;
    }
    for (const k of new Set([...r.keys(), ...sidecars.keys()])) initMax.set(k, Math.max(initMax.get(k) ?? 0, (r.get(k) ?? 0) + (sidecars.get(k) ?? 0)));
  }
  for (const [k, v] of sidecars) main.set(k, (main.get(k) ?? 0) + v);
  for (const [k, v] of initMax) main.set(k, Math.max(main.get(k) ?? 0, v));
  add(main, pod.spec?.overhead as Record<string, string> | undefined);
  return main;
}

/** the pods that hold a node's resources: bound to it and not finished */
export function holdsResources(pod: V1Pod): boolean {
  return !!pod.spec?.nodeName && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export function usageByNode(pods: Iterable<V1Pod>): NodeUsage {
  const used: NodeUsage = new Map();
  for (const p of pods) {
    if (!holdsResources(p)) continue;
    const node = p.spec!.nodeName!;
    const u = used.get(node) ?? { requests: new Map(), pods: 0 };
    for (const [k, v] of podRequests(p)) u.requests.set(k, (u.requests.get(k) ?? 0) + v);
    u.pods += 1;
    used.set(node, u);
  }
  return used;
}

/**
 * Node labels that say a node comes from a pool an autoscaler grows on demand: Karpenter
 * provisions nodes for pending pods; a GKE node pool is grown by GKE's cluster autoscaler.
 */
export const NODE_POOL_LABELS = ['karpenter.sh/nodepool', 'karpenter.sh/provisioner-name', 'cloud.google.com/gke-nodepool'];

/** why this profile's nodes are taken to be autoscaled, or null */
export function autoscalingEvidence(h: HardwareProfile, matching: V1Node[]): string | null {
  if (h.autoscaled === false) return null;
  if (h.autoscaled === true) return 'the profile is marked autoscaled';
  const key = Object.keys(h.nodeSelector ?? {}).find((k) => NODE_POOL_LABELS.includes(k));
  if (key) return `its nodeSelector names the node pool ${key}=${h.nodeSelector![key]} (set autoscaled: false if that pool does not scale)`;
  for (const n of matching) {
    const label = NODE_POOL_LABELS.find((k) => k in (n.metadata?.labels ?? {}));
    if (label) return `its nodes carry the node-pool label ${label} (set autoscaled: false if that pool does not scale)`;
  }
  return null;
}

function tolerates(tols: HardwareProfile['tolerations'], taint: { key: string; value?: string; effect: string }): boolean {
  return (tols ?? []).some((t: V1Toleration) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

const fmtGi = (b: number) => `${Math.round((b / 1024 ** 3) * 10) / 10}Gi`;

export function availabilityFor(profiles: HardwareProfile[], nodes: V1Node[], pods: Iterable<V1Pod>): Map<string, Availability> {
  return availabilityFromUsage(profiles, nodes, usageByNode(pods));
}

export function availabilityFromUsage(profiles: HardwareProfile[], nodes: V1Node[], used: NodeUsage): Map<string, Availability> {
  const out = new Map<string, Availability>();
  for (const h of profiles) out.set(h.name, profileAvailability(h, nodes, used));
  return out;
}

function profileAvailability(h: HardwareProfile, nodes: V1Node[], used: NodeUsage): Availability {
  const need = { cpu: h.cpu, memory: quantity(h.memory), gpu: h.gpu?.count ?? 0 };
  const gpuKey = gpuResource(h);
  let slots = 0;
  let everFits = 0;
  const why: string[] = [];
  const matching: V1Node[] = [];
  let maxGpu = 0;
  let maxCpu = 0;
  let maxMem = 0;
  for (const n of nodes) {
    const labels = n.metadata?.labels ?? {};
    if (Object.entries(h.nodeSelector ?? {}).some(([k, v]) => labels[k] !== v)) continue;
    matching.push(n);
    const blocking = (n.spec?.taints ?? []).filter((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(h.tolerations, t));
    if (blocking.length) {
      why.push(`node ${n.metadata?.name} has taint ${blocking[0].key}${blocking[0].value ? `=${blocking[0].value}` : ''}:${blocking[0].effect} the profile does not tolerate`);
      continue;
    }
    const alloc = n.status?.allocatable ?? {};
    const cap = { cpu: quantity(alloc.cpu), memory: quantity(alloc.memory), gpu: quantity(alloc[gpuKey]), pods: quantity(alloc.pods) || 110 };
    maxGpu = Math.max(maxGpu, cap.gpu);
    maxCpu = Math.max(maxCpu, cap.cpu);
    maxMem = Math.max(maxMem, cap.memory);
    if (cap.cpu < need.cpu || cap.memory < need.memory || cap.gpu < need.gpu) continue;
    everFits++;
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (n.spec?.unschedulable || !ready) continue;
    const u = used.get(n.metadata?.name ?? '');
    const req = (k: string) => u?.requests.get(k) ?? 0;
    const free = { cpu: cap.cpu - req('cpu'), memory: cap.memory - req('memory'), gpu: cap.gpu - req(gpuKey), pods: cap.pods - (u?.pods ?? 0) };
    const counts = [Math.floor(free.cpu / need.cpu + 1e-9), Math.floor(free.memory / need.memory), free.pods];
    if (need.gpu > 0) counts.push(Math.floor(free.gpu / need.gpu));
    slots += Math.max(0, Math.min(...counts));
  }
  if (slots > 0) return { status: 'fits-now', slots, reason: `${slots} more run(s) of ${h.name} fit now` };
  let now: string;
  if (everFits > 0) now = `the ${everFits} node(s) that fit ${h.name} are busy or cordoned`;
  else {
    const sel = Object.entries(h.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    if (matching.length === 0) now = sel ? `no node has the labels ${sel}` : 'the cluster has no nodes';
    else if (why.length === matching.length) now = why[0];
    else if (need.gpu > maxGpu) now = `no node has ${need.gpu} ${gpuKey} (the most any matching node has is ${maxGpu})`;
    else if (need.cpu > maxCpu) now = `no node has ${need.cpu} allocatable CPU (the most is ${maxCpu})`;
    else now = `no node has ${h.memory} allocatable memory (the most is ${fmtGi(maxMem)})`;
  }
  const scaling = autoscalingEvidence(h, matching);
  if (scaling) return { status: 'will-queue', slots: 0, scaleUp: true, reason: `${now} now; scale-up expected: ${scaling}, so a run waits for a new node` };
  if (everFits > 0) return { status: 'will-queue', slots: 0, reason: `${now}; a run waits for one to free up` };
  return { status: 'cannot-fit', slots: 0, reason: now };
}
