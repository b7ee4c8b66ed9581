/**
 * The code layer written ahead of the build. A save's build asks for it only once the base
 * image's scan has answered (its python symlink names the base's interpreter) and the client has
 * asked for the build; on a first save with a new base, the scan is what the save waits for.
 * Once the workspace's files offered in place are verified, the layer is written for the
 * interpreter the scan says, or, while the scan runs, the one the base's config suggests
 * (dependencies.ts guessBasePython). The build takes it when it asks for the same entries
 * (code-layer.ts writeCodeLayer); a wrong guess costs a small write, never a wrong image.
 *
 * Nothing is written ahead unless every file of the workspace is read in place (a remote
 * client's files arrive after the snapshot is created).
 */
import type { SnapshotEnvironment } from '@trainyard/shared';
import { timeStage } from '@trainyard/shared/snapshot/stages';
import type { ResolvedBase } from '../images/base-image';
import { codeLayerEntries, writeCodeLayer, type CodeFile } from '../images/code-layer';
import type { Compression } from '../images/compression';
import { guessBasePython, type BasePython } from '../images/dependencies';
import type { ImageStore } from '../images/image-store';
import { baseOnceVerified } from './dependency-ahead';

export interface CodeAheadInput {
  store: ImageStore;
  env: SnapshotEnvironment;
  base: Promise<ResolvedBase>;
  /** the base's scan (the one the build reads its interpreter from) */
  scan: (base: ResolvedBase) => Promise<BasePython>;
  /** settles when the files offered in place are verified */
  verified: Promise<unknown>;
  /** the layer's files as the build will name them, or null when one is not read in place */
  files: () => CodeFile[] | null;
  compression: Compression;
  /** stops the write (the server is closing) */
  signal: AbortSignal;
}

/** starts the write; its outcome is only ever used through writeCodeLayer. Settles when it has ended, never rejects */
export function writeCodeLayerAhead(a: CodeAheadInput): Promise<void> {
  return (async () => {
    const { base, answered } = await baseOnceVerified(a);
    const python = answered?.interpreter ?? guessBasePython(a.env, base.config)?.interpreter;
    const files = a.files();
    if (!python || !files || a.signal.aborted) return;
    const entries = await codeLayerEntries(files, python);
    await timeStage('layer: code, ahead of the build', () => writeCodeLayer(a.store, entries, { compression: a.compression, signal: a.signal }));
  })().catch(() => undefined); // the build writes the layer itself, and says what failed
}
