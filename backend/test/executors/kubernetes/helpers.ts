// Shared set-up for the Kubernetes executor suites: one rig per suite (test/k8s/cluster.ts),
// a namespace per test with deploy/'s ServiceAccount, Role and capacity ClusterRole applied,
// and an executor whose calls all go out as that ServiceAccount.
import type { HardwareProfile } from '@trainyard/shared';
import type { RunSpec } from '../../../src/executors/executor';
import { KubernetesExecutor, type KubernetesExecutorOptions } from '../../../src/executors/kubernetes';
import type { KubeClients } from '../../../src/executors/kubernetes/client';
import { DEFAULT_HARDWARE } from '../../../src/config';
import { type Cluster } from '../../../../test/k8s/cluster';
import { runId } from '../local/helpers';

export { RecordingSink } from '../local/helpers';
export { startCluster, until, sleep, type Cluster } from '../../../../test/k8s/cluster';

export const CPU_SMALL: HardwareProfile = DEFAULT_HARDWARE[0];
export const GPU_T4: HardwareProfile = DEFAULT_HARDWARE[2];
export const DIGEST = 'sha256:' + 'ab'.repeat(32);

export function kspec(over: Partial<RunSpec> = {}): RunSpec {
  return {
    id: runId(),
    model: 'eta-correction',
    version: 'v1',
    entrypoint: 'train',
    command: 'python train.py',
    params: { lr: 0.1 },
    hardware: CPU_SMALL,
    maxDurationSeconds: 600,
    sweepId: null,
    parallelism: null,
    image: { ref: '127.0.0.1:5000/team/eta-correction:v1', digest: DIGEST, baseImage: null },
    ...over,
  };
}

/** kwok stage annotations (test/k8s/kwok-stages.yaml) per run id: how long it runs, how it ends */
export class Outcomes {
  private readonly m = new Map<string, Record<string, string>>();
  set(id: string, o: { runFor?: string; exitCode?: number; reason?: string; pullError?: string }): void {
    const a: Record<string, string> = {};
    if (o.pullError) a['kwok.trainyard.dev/pull-error'] = o.pullError;
    if (o.runFor) a['kwok.trainyard.dev/run-for'] = o.runFor;
    if (o.exitCode !== undefined) a['kwok.trainyard.dev/exit-code'] = String(o.exitCode);
    if (o.reason) a['kwok.trainyard.dev/reason'] = o.reason;
    this.m.set(id, a);
  }
  annotations = (spec: RunSpec): Record<string, string> => this.m.get(spec.id) ?? {};
}

export interface Env {
  ns: string;
  sa: KubeClients;
  outcomes: Outcomes;
  make: (over?: Partial<KubernetesExecutorOptions>) => KubernetesExecutor;
}

export async function env(cluster: Cluster, prefix: string): Promise<Env> {
  const ns = await cluster.namespace(prefix);
  await cluster.applyDeploy(ns, ['serviceaccount.yaml', 'role.yaml', 'clusterrole.yaml']);
  const sa = await cluster.serviceAccountClients(ns);
  const outcomes = new Outcomes();
  const make = (over: Partial<KubernetesExecutorOptions> = {}) =>
    new KubernetesExecutor({ kube: sa, namespace: ns, podAnnotations: outcomes.annotations, logPollMs: 300, resyncMs: 1000, log: () => undefined, ...over });
  return { ns, sa, outcomes, make };
}
