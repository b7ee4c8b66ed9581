/**
 * Admission for the local executor: which queued run may start now, and why
 * the others wait, in plain words. Pure functions over the set of running
 * runs, so they are easy to reason about and test.
 *
 * Limits: config.maxConcurrent slots; the sum of the running runs' hardware
 * cpu <= this machine's cores and their memory <= its memory (these are
 * bookkeeping limits: the process sandbox does not pin cores, see
 * process-sandbox.ts); per sweep at most `parallelism` runs at once.
 * GPUs: this executor has none, so any GPU request cannot fit.
 *
 * Queue order is FIFO: a run held back by slots/CPU/memory blocks the runs
 * behind it (so a big run is not starved by a stream of small ones); a run
 * held back only by its sweep's parallelism does not block other runs.
 */
import type { Availability, HardwareProfile } from '@trainyard/shared';
import type { RunSpec } from '../executor';

export interface Limits {
  maxConcurrent: number;
  cpuCount: number;
  memoryBytes: number;
}

export interface Usage {
  count: number;
  cpu: number;
  memoryBytes: number;
  perSweep: Map<string, number>;
}

const UNITS: Record<string, number> = {
  '': 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Bytes of a Kubernetes-style quantity ("512Mi", "4Gi", "1.5G", "1000000"). */
export function parseQuantity(q: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(q.trim());
  if (!m) throw new Error(`not a memory quantity: ${JSON.stringify(q)}`);
  return Math.ceil(Number(m[1]) * UNITS[m[2] ?? '']);
}

export function formatBytes(n: number): string {
  const gi = n / 1024 ** 3;
  if (gi >= 1) return `${Number(gi.toFixed(1))} GiB`;
  return `${Number((n / 1024 ** 2).toFixed(0))} MiB`;
}

function cores(n: number): string {
  const v = Number(n.toFixed(2));
  return `${v} CPU core${v === 1 ? '' : 's'}`;
}

/** Why a profile can never run here, or null when it fits this machine. */
export function cannotFit(h: HardwareProfile, limits: Limits): string | null {
  if (h.gpu && h.gpu.count > 0) {
    return `asks for ${h.gpu.count} GPU${h.gpu.count === 1 ? '' : 's'} (${h.gpu.type}); the local executor has no GPUs (use the kubernetes executor)`;
  }
  if (h.cpu > limits.cpuCount) return `asks for ${cores(h.cpu)}; this machine has ${cores(limits.cpuCount)}`;
  const mem = parseQuantity(h.memory);
  if (mem > limits.memoryBytes) return `asks for ${formatBytes(mem)} of memory; this machine has ${formatBytes(limits.memoryBytes)}`;
  return null;
}

/** Why a run that fits the machine cannot start now for lack of resources (null: it can). */
export function resourceWait(h: HardwareProfile, usage: Usage, limits: Limits): string | null {
  if (usage.count >= limits.maxConcurrent) {
    return `waiting for a free slot: ${usage.count} of ${limits.maxConcurrent} local slots busy`;
  }
  const freeCpu = limits.cpuCount - usage.cpu;
  if (h.cpu > freeCpu + 1e-9) {
    return `waiting for CPU: needs ${cores(h.cpu)}, ${cores(Math.max(0, freeCpu))} of ${limits.cpuCount} free`;
  }
  const mem = parseQuantity(h.memory);
  const freeMem = limits.memoryBytes - usage.memoryBytes;
  if (mem > freeMem) {
    return `waiting for memory: needs ${formatBytes(mem)}, ${formatBytes(Math.max(0, freeMem))} of ${formatBytes(limits.memoryBytes)} free`;
  }
  return null;
}

export function sweepWait(spec: RunSpec, usage: Usage): string | null {
  if (spec.sweepId === null || spec.parallelism === null) return null;
  const n = usage.perSweep.get(spec.sweepId) ?? 0;
  return n >= spec.parallelism ? `waiting: sweep parallelism ${spec.parallelism} reached` : null;
}

export function addUsage(usage: Usage, spec: RunSpec): void {
  usage.count += 1;
  usage.cpu += spec.hardware.cpu;
  usage.memoryBytes += parseQuantity(spec.hardware.memory);
  if (spec.sweepId !== null) usage.perSweep.set(spec.sweepId, (usage.perSweep.get(spec.sweepId) ?? 0) + 1);
}

export function usageOf(specs: Iterable<RunSpec>): Usage {
  const u: Usage = { count: 0, cpu: 0, memoryBytes: 0, perSweep: new Map() };
  for (const s of specs) addUsage(u, s);
  return u;
}

export interface Plan {
  start: RunSpec[];
  /** queued runs that keep waiting, with their reason */
  wait: Array<{ spec: RunSpec; reason: string }>;
}

/** Decides, in queue order, which runs start now; `usage` is of the running runs. */
export function plan(queue: RunSpec[], running: Usage, limits: Limits): Plan {
  const usage: Usage = { ...running, perSweep: new Map(running.perSweep) };
  const out: Plan = { start: [], wait: [] };
  let blockedBy: string | null = null;
  let ahead = 0;
  for (const spec of queue) {
    const sweep = sweepWait(spec, usage);
    if (sweep) {
      out.wait.push({ spec, reason: sweep });
      continue;
    }
    const own = resourceWait(spec.hardware, usage, limits);
    if (own) {
      out.wait.push({ spec, reason: own });
      blockedBy ??= own;
      ahead++;
      continue;
    }
    if (blockedBy !== null) {
      out.wait.push({ spec, reason: `waiting in line: ${ahead} earlier run${ahead === 1 ? '' : 's'} queued first (${blockedBy})` });
      ahead++;
      continue;
    }
    addUsage(usage, spec);
    out.start.push(spec);
  }
  return out;
}

/** Live availability of one profile, for GET /v1/hardware. */
export function availabilityOf(h: HardwareProfile, running: Usage, queuedForResources: number, limits: Limits): Availability {
  const never = cannotFit(h, limits);
  if (never) return { status: 'cannot-fit', slots: 0, reason: `cannot fit: ${never}` };
  const mem = parseQuantity(h.memory);
  const slots = Math.max(
    0,
    Math.min(
      limits.maxConcurrent - running.count,
      Math.floor((limits.cpuCount - running.cpu + 1e-9) / h.cpu),
      mem === 0 ? Number.MAX_SAFE_INTEGER : Math.floor((limits.memoryBytes - running.memoryBytes) / mem),
    ),
  );
  if (slots === 0) {
    const why = resourceWait(h, running, limits) ?? 'no free slot';
    return { status: 'will-queue', slots: 0, reason: `will queue: ${why.slice(why.indexOf(': ') + 2)}` };
  }
  if (queuedForResources > 0) {
    return { status: 'will-queue', slots: 0, reason: `will queue: ${queuedForResources} run${queuedForResources === 1 ? '' : 's'} already waiting` };
  }
  return { status: 'fits-now', slots, reason: `fits now: ${slots} more run${slots === 1 ? '' : 's'} of this profile can start` };
}
