/** Picks the executor named by config (executor.kind). */
import type { AppContext } from '../context';
import type { Executor } from './executor';
import { LocalExecutor } from './local/local-executor';
import { unpackImage } from '../images/unpack';

export function createExecutor(ctx: AppContext, machine: { cpuCount: number; memoryBytes: number }): Executor {
  if (ctx.config.executor.kind === 'kubernetes') {
    throw new Error('executor.kind "kubernetes" is not available in this build yet; use "local" (the default)');
  }
  return new LocalExecutor({
    config: ctx.config.executor.local,
    cpuCount: machine.cpuCount,
    memoryBytes: machine.memoryBytes,
    runsDir: ctx.dirs.runs,
    materialize: (spec, dest) => unpackImage(ctx.images, spec.model, spec.version, dest),
  });
}
