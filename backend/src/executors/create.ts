/**
 * Picks the executor named by config (executor.kind). The Kubernetes executor, and with it
 * @kubernetes/client-node (~1,900 modules, ~45 MB of source text and code on the heap), is
 * loaded only when it is the one configured: a local server's heap after start is 36 MB, not 67,
 * and each full GC (a cold save starts a few) has about half as much to mark.
 */
import type { AppContext } from '../context';
import type { Executor } from './executor';
import { LocalExecutor } from './local/local-executor';
import { unpackImage } from '../images/unpack';
import { podmanImageFor } from './local/podman-image';
import { join } from 'node:path';
import type { ArtifactsService } from '../artifacts/service';
import { issueRunToken, scheduleTokenFor } from '../auth/run-tokens';

export async function createExecutor(ctx: AppContext, machine: { cpuCount: number; memoryBytes: number }, artifacts: ArtifactsService): Promise<Executor> {
  if (ctx.config.executor.kind === 'kubernetes') {
    const { KubernetesExecutor, loadKube } = await import('./kubernetes');
    const k = ctx.config.executor.kubernetes;
    return new KubernetesExecutor({
      kube: loadKube(k.kubeconfig, k.requestTimeoutMs),
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
