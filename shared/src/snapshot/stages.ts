/**
 * Save Model's stage timings: where a save spends its time (client: collect
 * and hash, environment, upload; backend: base, dependency layer, code layer,
 * compress, push, manifest). Each finished stage is published on the
 * `trainyard:save:stage` diagnostics channel; with no subscriber (the normal
 * case) publishing costs nothing and nothing is kept. The save bench subscribes
 * to print the breakdown. Node-only.
 */
import { channel } from 'node:diagnostics_channel';

export interface StageTiming {
  /** e.g. "hash", "upload", "layer:code", "compress", "push", "manifest" */
  stage: string;
  /** wall time of the stage (stages overlap when the pipeline runs them together) */
  ms: number;
  /** bytes the stage handled, when it knows */
  bytes?: number;
  /** when it started (performance.now() of the process that ran it) */
  start?: number;
}

export const SAVE_STAGE_CHANNEL = 'trainyard:save:stage';
const stageChannel = channel(SAVE_STAGE_CHANNEL);

export function recordStage(stage: string, ms: number, bytes?: number, start = performance.now() - ms): void {
  if (stageChannel.hasSubscribers) stageChannel.publish({ stage, ms, start, ...(bytes !== undefined ? { bytes } : {}) } satisfies StageTiming);
}

/** runs fn and records its wall time as `stage` (also when it throws) */
export async function timeStage<T>(stage: string, fn: () => Promise<T>, bytes?: (out: T) => number): Promise<T> {
  if (!stageChannel.hasSubscribers) return fn();
  const t = performance.now();
  let out: T | undefined;
  try {
    out = await fn();
    return out;
  } finally {
    recordStage(stage, performance.now() - t, out !== undefined && bytes ? bytes(out) : undefined, t);
  }
}

/** subscribes `onStage` to the stage channel; returns the unsubscribe function */
export function watchStages(onStage: (t: StageTiming) => void): () => void {
  const fn = (msg: unknown) => onStage(msg as StageTiming);
  stageChannel.subscribe(fn);
  return () => stageChannel.unsubscribe(fn);
}
