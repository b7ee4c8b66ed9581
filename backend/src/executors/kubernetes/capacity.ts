/**
 * Live availability per hardware profile, from the nodes and the pods on them: a node
 * can take a run when its labels match the profile's nodeSelector, the profile tolerates
 * its NoSchedule/NoExecute taints, it is schedulable and Ready, and its allocatable CPU,
 * memory, nvidia.com/gpu and pod count minus the requests of its non-terminal pods cover
 * the profile. Slots = how many more runs fit now; a profile no node could ever hold
 * (even empty) is cannot-fit, with the reason closest to fitting.
 */
import type { V1Node, V1Pod, V1Toleration } from '@kubernetes/client-node';
import type { Availability, HardwareProfile } from '@trainyard/shared';
import { toKubeError, type KubeClients } from './client';
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

interface Need {
  cpu: number;
  memory: number;
  gpu: number;
}

function needOf(h: HardwareProfile): Need {
  return { cpu: h.cpu, memory: quantity(h.memory), gpu: h.gpu?.count ?? 0 };
}

function tolerates(tols: HardwareProfile['tolerations'], taint: { key: string; value?: string; effect: string }): boolean {
  return (tols ?? []).some((t: V1Toleration) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function podRequests(pod: V1Pod): { cpu: number; memory: number; gpu: number } {
  const sum = { cpu: 0, memory: 0, gpu: 0 };
  for (const c of pod.spec?.containers ?? []) {
    const r = c.resources?.requests ?? {};
    sum.cpu += quantity(r.cpu);
    sum.memory += quantity(r.memory);
    sum.gpu += quantity(r['nvidia.com/gpu']);
  }
  return sum;
}

const fmtGi = (b: number) => `${Math.round((b / 1024 ** 3) * 10) / 10}Gi`;

export function availabilityFor(profiles: HardwareProfile[], nodes: V1Node[], pods: V1Pod[]): Map<string, Availability> {
  const used = new Map<string, { cpu: number; memory: number; gpu: number; pods: number }>();
  for (const p of pods) {
    const node = p.spec?.nodeName;
    if (!node || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const u = used.get(node) ?? { cpu: 0, memory: 0, gpu: 0, pods: 0 };
    const r = podRequests(p);
    u.cpu += r.cpu;
    u.memory += r.memory;
    u.gpu += r.gpu;
    u.pods += 1;
    used.set(node, u);
  }
  const out = new Map<string, Availability>();
  for (const h of profiles) {
    const need = needOf(h);
    const gpuKey = gpuResource(h);
    let slots = 0;
    let everFits = 0;
    const why: string[] = [];
    let matching = 0;
    let maxGpu = 0;
    let maxCpu = 0;
    let maxMem = 0;
    for (const n of nodes) {
      const labels = n.metadata?.labels ?? {};
      if (Object.entries(h.nodeSelector ?? {}).some(([k, v]) => labels[k] !== v)) continue;
      matching++;
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
      const u = used.get(n.metadata?.name ?? '') ?? { cpu: 0, memory: 0, gpu: 0, pods: 0 };
      const free = { cpu: cap.cpu - u.cpu, memory: cap.memory - u.memory, gpu: cap.gpu - u.gpu, pods: cap.pods - u.pods };
      const counts = [Math.floor(free.cpu / need.cpu + 1e-9), Math.floor(free.memory / need.memory), free.pods];
      if (need.gpu > 0) counts.push(Math.floor(free.gpu / need.gpu));
      slots += Math.max(0, Math.min(...counts));
    }
    if (slots > 0) out.set(h.name, { status: 'fits-now', slots, reason: `${slots} more run(s) of ${h.name} fit now` });
    else if (everFits > 0) out.set(h.name, { status: 'will-queue', slots: 0, reason: `the ${everFits} node(s) that fit ${h.name} are busy; a run waits for one to free up` });
    else {
      let reason: string;
      const sel = Object.entries(h.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      if (matching === 0) reason = sel ? `no node has the labels ${sel}` : 'the cluster has no nodes';
      else if (why.length === matching) reason = why[0];
      else if (need.gpu > maxGpu) reason = `no node has ${need.gpu} ${gpuKey} (the most any matching node has is ${maxGpu})`;
      else if (need.cpu > maxCpu) reason = `no node has ${need.cpu} allocatable CPU (the most is ${maxCpu})`;
      else reason = `no node has ${h.memory} allocatable memory (the most is ${fmtGi(maxMem)})`;
      out.set(h.name, { status: 'cannot-fit', slots: 0, reason });
    }
  }
  return out;
}

/** lists nodes and non-terminal pods (cluster-wide reads: deploy/clusterrole.yaml) and computes availability */
export async function readAvailability(kube: KubeClients, profiles: HardwareProfile[], api: <T>(fn: () => Promise<T>) => Promise<T>): Promise<Map<string, Availability>> {
  try {
    const [nodes, pods] = await Promise.all([
      api(() => kube.core.listNode()),
      api(() => kube.core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' })),
    ]);
    return availabilityFor(profiles, nodes.items, pods.items);
  } catch (err) {
    const e = toKubeError(err);
    const reason = `cannot read the cluster's capacity (${e.status ?? 'no response'}: ${e.message}); a run will queue until a node fits`;
    return new Map(profiles.map((p) => [p.name, { status: 'will-queue', slots: 0, reason } satisfies Availability]));
  }
}
