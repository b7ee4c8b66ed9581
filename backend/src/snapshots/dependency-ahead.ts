/**
 * The dependency layer written ahead of the base image's scan. On a first save with a new base,
 * the scan (inflating every base layer to list it: ~0.5 s of CPU per 100 MB of tar) is what the
 * layer's plan waits for, and the layer (reading, hashing and compressing the environment's files)
 * is the build's longest part. Once the environment's files are verified in place, the layer is
 * written for a plan made from a guess of what the scan will say (dependencies.ts
 * guessBasePython), while the scan runs. The build then asks for the layer of the real plan: when
 * its lock hash is the guess's, it waits for this write (writeDependencyLayer joins it); when the
 * scan says otherwise, this write is stopped as soon as the scan ends, and the build writes the
 * right layer as it would have anyway. A wrong guess costs CPU during the scan, never a wrong image.
 *
 * Nothing is written ahead when the scan has answered already (a base seen before), when the
 * guess's plan is not a copy, or when any file it needs is not read in place (a remote client's
 * files arrive after the snapshot is created); a layer remembered for the guessed lock is taken
 * as it is (writeDependencyLayer looks first).
 */
import type { SnapshotEnvironment } from '@trainyard/shared';
import { timeStage } from '@trainyard/shared/snapshot/stages';
import type { ResolvedBase } from '../images/base-image';
import type { BasePython } from '../images/dependencies';
import { guessBasePython, planDependencies, writeDependencyLayer } from '../images/dependencies';
import type { ImageStore } from '../images/image-store';
import type { FileSource } from '../images/layer';
import type { Compression } from '../images/compression';
import { abortable } from './abortable';

export interface AheadInput {
  store: ImageStore;
  env: SnapshotEnvironment;
  /** the model: a registry store streams the layer to its repository as it is written */
  model: string;
  base: Promise<ResolvedBase>;
  /** the base's scan (the one the build plans from) */
  scan: (base: ResolvedBase) => Promise<BasePython>;
  /** settles when the files offered in place are verified */
  verified: Promise<unknown>;
  /** whether a file is read in place, and from where */
  inPlace: (sha256: string) => boolean;
  source: (sha256: string) => FileSource;
  cacheDir: string;
  compression: Compression;
  /** stops the write (the server is closing) */
  signal: AbortSignal;
}

/**
 * What a write ahead waits for, shared by this one and code-ahead.ts: the base, its scan, and
 * the scan's answer if it had one once the files offered in place were verified (undefined: still
 * running; null: it failed). Rejects when `signal` aborts (the server is closing).
 */
export async function baseOnceVerified<T>(a: { base: Promise<ResolvedBase>; scan: (base: ResolvedBase) => Promise<T>; verified: Promise<unknown>; signal: AbortSignal }): Promise<{ base: ResolvedBase; scan: Promise<T>; answered: T | null | undefined }> {
  const base = await abortable(a.base, a.signal);
  let answered: T | null | undefined;
  const scan = a.scan(base);
  scan.then(
    (s) => (answered = s),
    () => (answered = null),
  );
  await abortable(Promise.all([a.verified, new Promise((r) => setImmediate(r))]), a.signal); // a scan already answered has set `answered` by now
  return { base, scan, answered };
}

/** starts the write when it can help; its outcome is only ever used through writeDependencyLayer. Settles when it has ended, never rejects */
export function writeDependencyLayerAhead(a: AheadInput): Promise<void> {
  return (async () => {
    const { base, scan, answered } = await baseOnceVerified(a);
    if (answered !== undefined || a.signal.aborted) return;
    const guess = guessBasePython(a.env, base.config);
    if (!guess) return;
    const plan = planDependencies(a.env, guess, base.ref);
    if (plan.strategy !== 'copy' || !plan.delta.length) return;
    if (!plan.delta.every((d) => (d.files ?? []).every((f) => a.inPlace(f.sha256)))) return;
    const stop = new AbortController();
    scan.then(
      (real) => {
        let same = false;
        try {
          same = planDependencies(a.env, real, base.ref).lockHash === plan.lockHash;
        } catch {
          /* no plan at all: the build says why */
        }
        if (!same) stop.abort(new Error('the base image scan did not match the guess'));
      },
      () => stop.abort(new Error('the base image scan failed')),
    );
    const closing = () => stop.abort(a.signal.reason);
    a.signal.addEventListener('abort', closing, { once: true });
    try {
      await timeStage('layer: dependencies, ahead of the base scan', () =>
        writeDependencyLayer(a.store, plan, {
          blobSource: a.source,
          cacheDir: a.cacheDir,
          compression: a.compression,
          upload: a.store.beginUpload ? () => a.store.beginUpload!(a.model) : undefined,
          signal: stop.signal,
        }),
      );
    } finally {
      a.signal.removeEventListener('abort', closing);
    }
  })().catch(() => undefined); // stopped or failed: the build writes the layer itself
}
