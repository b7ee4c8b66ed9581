/**
 * Creating what one launch needs in the cluster: the Job, then the objects it owns and its pods
 * mount (a sweep's params ConfigMaps, the Secrets with the runs' tokens), each created or, after a
 * restart or a retry, adopted as it is. Owned objects are made right after the Job: a pod scheduled
 * before one exists waits for its mount, and all of them go when the Job goes.
 */
import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';
import { backoffDelay, createOrAdopt, KubeError, sleep, toKubeError, type KubeClients } from './client';
import { completionIndexes, tokenSecrets, type ManifestOptions } from './manifests';
import type { RunSpec } from '../executor';

export interface JobObjectsDeps {
  kube: KubeClients;
  namespace: string;
  /** the executor's API call wrapper (retries) */
  api: <T>(fn: () => Promise<T>) => Promise<T>;
  manifests: ManifestOptions;
  /** a token per run for the finish step (see manifests.ts FINISH_STEP); absent: no Secrets */
  runTokens?: (runIds: string[]) => Promise<string[]>;
}

export async function createJobObjects(d: JobObjectsDeps, job: V1Job, specs: RunSpec[], configMaps: V1ConfigMap[] = []): Promise<V1Job> {
  const name = job.metadata!.name!;
  const ns = d.namespace;
  const created = await createOrAdopt(
    d.api,
    () => d.kube.batch.createNamespacedJob({ namespace: ns, body: job }),
    () => d.kube.batch.readNamespacedJob({ name, namespace: ns }),
  );
  for (const configMap of configMaps) {
    configMap.metadata!.ownerReferences = ownedBy(created);
    await createOrAdopt(d.api, () => d.kube.core.createNamespacedConfigMap({ namespace: ns, body: configMap }), async () => configMap);
  }
  if (d.manifests.backendUrl && d.runTokens) {
    // a Secret already there (a resubmit after a restart) is kept as it is: its tokens are still valid
    const tokens = await d.runTokens(specs.map((s) => s.id));
    const indexes = specs[0]?.sweepId ? completionIndexes(specs) : [0];
    for (const secret of tokenSecrets(name, tokens.map((t, k) => [indexes[k], t]), d.manifests, { ...created.metadata!.labels })) {
      secret.metadata!.ownerReferences = ownedBy(created);
      await createOrAdopt(d.api, () => d.kube.core.createNamespacedSecret({ namespace: ns, body: secret }), async () => secret);
    }
  }
  return created;
}

function ownedBy(job: V1Job) {
  return [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata!.name!, uid: job.metadata!.uid!, blockOwnerDeletion: false }];
}

/** deletes a Job and, in the foreground, its pods and owned objects; gone already is fine */
export async function deleteJob(d: JobObjectsDeps, name: string): Promise<void> {
  try {
    await d.api(() => d.kube.batch.deleteNamespacedJob({ name, namespace: d.namespace, propagationPolicy: 'Foreground' }));
  } catch (err) {
    if (!(err instanceof KubeError && err.status === 404)) throw err;
  }
}

/** deletes a Job whose create got no answer, trying again (up to ~10 min) until the API server answers */
export async function removeUnanswered(d: JobObjectsDeps, job: string, o: { log: (msg: string) => void; signal: AbortSignal; stopped: () => boolean }): Promise<void> {
  for (let attempt = 0; attempt < 25 && !o.stopped(); attempt++) {
    try {
      await deleteJob(d, job);
      return;
    } catch (err) {
      if (attempt === 0) o.log(`removing Job ${job}, whose create got no answer: ${toKubeError(err).message} (trying again)`);
      await sleep(backoffDelay(attempt, 1000, 30_000), o.signal);
    }
  }
}

/** deletes a pod; a failure is logged, not thrown (the informer shows what happened) */
export async function deletePod(d: JobObjectsDeps, name: string, log: (msg: string) => void): Promise<void> {
  try {
    await d.api(() => d.kube.core.deleteNamespacedPod({ name, namespace: d.namespace }));
  } catch (err) {
    if (!(err instanceof KubeError && err.status === 404)) log(`deleting pod ${name}: ${(err as Error).message}`);
  }
}
