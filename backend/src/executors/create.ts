/**
 * Picks the executor named by config (executor.kind). @kubernetes/client-node is loaded only when
 * the Kubernetes executor is the one configured (loadKube, kubernetes/client.ts): a local
 * server's heap after start is 40 MB, not 67.
 */
import type { AppContext } from '../context';
import type { Executor } from './executor';
import { LocalExecutor } from './local/local-executor';
import { unpackImage } from '../images/unpack';
import { KubernetesExecutor, loadKube } from './kubernetes';
import { podmanImageFor } from './local/podman-image';
import { join } from 'node:path';
import type { ArtifactsService } from '../artifacts/service';
import { issueRunToken, scheduleTokenFor } from '../auth/run-tokens';

export async function createExecutor(ctx: AppContext, machine: { cpuCount: number; memoryBytes: number }, artifacts: ArtifactsService): Promise<Executor> {
  if (ctx.config.executor.kind === 'kubernetes') {
    const k = ctx.config.executor.kubernetes;
    return new KubernetesExecutor({
      kube: await loadKube(k.kubeconfig, k.requestTimeoutMs),
      namespace: k.namespace,
      backendUrl: k.backendUrl,
      runTokens: async (ids) => {
        const out: string[] = [];
        for (const id of ids) out.push(await issueRunToken(ctx.db, id));
        return out;
      },
      scheduleToken: (id) => scheduleTokenFor(ctx.db, id),
    });
  }
  return new LocalExecutor({
    config: ctx.config.executor.local,
    cpuCount: machine.cpuCount,
    memoryBytes: machine.memoryBytes,
    runsDir: ctx.dirs.runs,
    materialize: (spec, dest) => unpackImage(ctx.images, spec.model, spec.image.digest, dest),
    podmanImage: (spec) => podmanImageFor(ctx.images, join(ctx.config.home, 'oci-views'), spec),
    keepOutputs: (spec, dir) =>
      artifacts.collect({ runId: spec.id, model: spec.model, version: spec.version, entrypoint: spec.entrypoint, params: spec.params }, dir),
    prepareInput: (spec, dest) => artifacts.materializeInput(spec.inputRunId!, dest),
  });
}
