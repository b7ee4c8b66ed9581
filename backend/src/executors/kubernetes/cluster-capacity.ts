/**
 * The cluster's capacity as the executor sees it: two cluster-wide informers (informer.ts),
 * one on nodes and one on the pods that hold a node's resources (bound to a node, not
 * Succeeded or Failed: a field selector, so a pod that ends or is deleted leaves the cache
 * by a watch event). GET /v1/hardware, launch admission and estimates read availability
 * from these caches (capacity.ts); no request lists anything. The caches keep only what
 * availability needs (slim objects), and the per-node usage is recomputed only after a
 * pod event.
 *
 * Reading nodes and pods cluster-wide needs list and watch on both (deploy/clusterrole.yaml).
 * Without them the executor still runs runs: the first list is tried when the executor
 * starts, then again with backoff, and until it succeeds availability says it cannot read
 * the cluster's capacity (will queue). It says so too when the watches have failed for longer
 * than staleAfterMs (the API server unreachable): an old cache neither admits nor refuses.
 */
import type { V1Container, V1Node, V1Pod } from '@kubernetes/client-node';
import type { Availability, HardwareProfile } from '@trainyard/shared';
import { availabilityFromUsage, usageByNode, type NodeUsage } from './capacity';
import { backoffDelay, sleep, toKubeError, type KubeClients } from './client';
import { Informer } from './informer';

/** the pods that hold resources (capacity.ts holdsResources, as a field selector) */
export const RESOURCE_HOLDING_PODS = 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed';

export interface ClusterCapacityOptions {
  kube: KubeClients;
  api: <T>(fn: () => Promise<T>) => Promise<T>;
  log: (msg: string) => void;
  backoff?: { initialMs: number; maxMs: number };
  /** how long the caches may go unconfirmed (their watches failing) before availability stops trusting them; default 60 s */
  staleAfterMs?: number;
}

const slimContainer = (c: V1Container): V1Container => ({ name: c.name, restartPolicy: c.restartPolicy, resources: { requests: c.resources?.requests } });

export function slimPod(p: V1Pod): V1Pod {
  const { name, namespace, uid, resourceVersion } = p.metadata ?? {};
  return {
    metadata: { name, namespace, uid, resourceVersion },
    spec: {
      nodeName: p.spec?.nodeName,
      containers: (p.spec?.containers ?? []).map(slimContainer),
      initContainers: p.spec?.initContainers?.map(slimContainer),
      overhead: p.spec?.overhead,
    },
    status: { phase: p.status?.phase },
  };
}

export function slimNode(n: V1Node): V1Node {
  const { name, uid, resourceVersion, labels } = n.metadata ?? {};
  return {
    metadata: { name, uid, resourceVersion, labels },
    spec: { unschedulable: n.spec?.unschedulable, taints: n.spec?.taints },
    status: { allocatable: n.status?.allocatable, conditions: n.status?.conditions?.filter((c) => c.type === 'Ready') },
  };
}

export class ClusterCapacity {
  readonly nodes: Informer<V1Node>;
  readonly pods: Informer<V1Pod>;
  private usage: NodeUsage | null = null;
  private readonly unlisted = new Map<string, string>();
  private stopped = true;
  private starting: Promise<void>[] = [];
  private firstTries: Promise<void> = Promise.resolve();
  private abort = new AbortController();

  constructor(private readonly o: ClusterCapacityOptions) {
    const { core } = o.kube;
    this.nodes = new Informer<V1Node>({
      name: 'capacity nodes',
      kube: o.kube,
      path: '/api/v1/nodes',
      list: () => o.api(() => core.listNode()),
      transform: slimNode,
      onChange: () => undefined,
      backoff: o.backoff,
      log: o.log,
    });
    this.pods = new Informer<V1Pod>({
      name: 'capacity pods',
      kube: o.kube,
      path: '/api/v1/pods',
      fieldSelector: RESOURCE_HOLDING_PODS,
      list: () => o.api(() => core.listPodForAllNamespaces({ fieldSelector: RESOURCE_HOLDING_PODS })),
      transform: slimPod,
      onChange: () => (this.usage = null),
      backoff: o.backoff,
      log: o.log,
    });
  }

  /** resolves once each informer has synced or failed its first try; a failed one keeps trying in the background */
  async start(): Promise<void> {
    this.stopped = false;
    this.abort = new AbortController();
    const tried: Promise<void>[] = [];
    this.starting = [this.nodes, this.pods].map((inf) => {
      let firstTry!: () => void;
      tried.push(new Promise<void>((r) => (firstTry = r)));
      return this.keepStarting(inf, firstTry);
    });
    this.firstTries = Promise.all(tried).then(() => undefined);
    await this.firstTries;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.all([this.nodes.stop(), this.pods.stop()]);
    await Promise.all(this.starting);
  }

  async availability(profiles: HardwareProfile[]): Promise<Map<string, Availability>> {
    await this.firstTries;
    const stale = this.staleness();
    if (this.stopped || this.unlisted.size || stale) {
      const why = this.stopped ? 'the Kubernetes executor is not running' : this.unlisted.size ? [...this.unlisted.values()].join('; ') : stale;
      const reason = `cannot read the cluster's capacity (${why}); a run will queue until a node fits`;
      return new Map(profiles.map((p) => [p.name, { status: 'will-queue', slots: 0, reason } satisfies Availability]));
    }
    this.usage ??= usageByNode(this.pods.cache.values());
    return availabilityFromUsage(profiles, this.nodes.list(), this.usage);
  }

  /** why the caches are too old to trust, or null */
  private staleness(): string | null {
    const limit = this.o.staleAfterMs ?? 60_000;
    for (const inf of [this.nodes, this.pods]) {
      const f = inf.failing;
      if (f && Date.now() - f.since > limit) return `its watch of ${inf === this.nodes ? 'nodes' : 'pods'} has failed for ${Math.round((Date.now() - f.since) / 1000)} s (${f.error})`;
    }
    return null;
  }

  private async keepStarting(inf: Informer<V1Node> | Informer<V1Pod>, firstTry: () => void): Promise<void> {
    const b = this.o.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await inf.start();
        this.usage = null;
        this.unlisted.delete(inf === this.nodes ? 'nodes' : 'pods');
        if (this.stopped) await inf.stop(); // stop() came while the first list was under way
        return;
      } catch (err) {
        const e = toKubeError(err);
        const what = inf === this.nodes ? 'nodes' : 'pods';
        this.unlisted.set(what, `listing ${what}: ${e.status ?? 'no response'}: ${e.message}`);
        if (attempt === 0) this.o.log(`cannot read the cluster's ${what} for availability (${e.status ?? 'no response'}: ${e.message}); retrying in the background`);
      } finally {
        firstTry();
      }
      await sleep(backoffDelay(attempt, b.initialMs, b.maxMs), this.abort.signal);
    }
  }
}
