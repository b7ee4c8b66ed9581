/**
 * Building a snapshot's image and recording it as a version (SnapshotsService.build runs
 * buildAndRecord under the label's lock, once every file is there): the image (base +
 * dependency + code layers: image-builder.ts, reading each file in place or from the staging
 * dir), the self-test when the manifest has one (self-test.ts: a failure leaves no version and
 * no tag), the push under the label's tag, then the version row. A label that already has a
 * version returns it when the config digest is the same, else 409.
 */
import { dependencyLayersDir } from '../artifacts/retention';
import type { CreateSnapshot, Version } from '@trainyard/shared';
import { timeStage } from '@trainyard/shared/snapshot/stages';
import { join } from 'node:path';
import type { AppContext } from '../context';
import { conflict } from '../errors';
import { nowIso } from '../ids';
import { getVersion, insertVersion } from '../models/store';
import type { SnapshotsTable } from '../store/db';
import { BaseImageError, type ResolvedBase } from '../images/base-image';
import { buildImage } from '../images/image-builder';
import type { CodeFile } from '../images/code-layer';
import { imageSourcePolicy, imageSourceProblem } from '../images/image-sources';
import type { InstallOptions } from '../images/install';
import type { FileSource } from '../images/layer';
import { imageRefFor } from '../images/open';
import { RegistryStore } from '../images/registry-store';
import { tagFor } from '../images/registry/reference';
import { runSelfTest } from './self-test';
import { manifestHash } from './validate';

export interface SnapshotsOptions {
  /** podman global flags for self-tests and install builds (default: what detectPodman picks) */
  podmanArgs?: string[];
  selfTestTimeoutMs?: number;
}

/** what a build needs from the service */
export interface BuildContext {
  ctx: AppContext;
  opts: SnapshotsOptions;
  /** where the build reads a blob: in place (verified: local-files.ts) or staged */
  source: (sha256: string) => FileSource;
  /** a build step, streamed as a `snapshot` event with `progress` */
  progress: (step: string) => void;
  /** the base image as the snapshot's create resolved it (its dependency plan is for that one), if it did */
  base?: Promise<ResolvedBase>;
}

export async function buildAndRecord(b: BuildContext, row: Pick<SnapshotsTable, 'id' | 'model' | 'created_by'>, manifest: CreateSnapshot, label: string): Promise<Version> {
  const { ctx } = b;
  // again at build: the snapshot may have been created under a wider policy
  const sourceProblem = manifest.baseImage ? imageSourceProblem(manifest.baseImage, imageSourcePolicy(ctx.config.images, ctx.images)) : null;
  if (sourceProblem) throw new BaseImageError(sourceProblem);
  const createdAt = nowIso();
  const git = manifest.git ?? { sha: null, dirty: false };
  b.progress(manifest.environment ? 'writing the dependency and code layers' : 'writing the code layer');
  const built = await timeStage('build image', () => buildImage(ctx.images, {
    model: row.model,
    version: label,
    files: codeFiles(manifest, b.source),
    entrypoints: manifest.entrypoints,
    baseImage: manifest.baseImage ?? null,
    ...(b.base ? { resolvedBase: b.base } : {}),
    git: { sha: git.sha, dirty: git.dirty },
    source: `trainyard://snapshots/${row.id}?manifest=sha256:${manifestHash(manifest)}`,
    created: createdAt,
    environment: manifest.environment ?? null,
    compression: ctx.config.images.compression,
    dependencies: { blobSource: b.source, cacheDir: dependencyCacheDir(ctx), scanCacheDir: baseScansDir(ctx), install: installOptions(ctx, b.opts) },
  }));
  const existing = await getVersion(ctx.db, row.model, label);
  if (existing) return sameOrConflict(ctx, existing, built.configDigest);

  await assertTagFree(ctx, row.model, label);
  if (manifest.selfTest) {
    b.progress(`running the self-test: ${manifest.selfTest}`);
    await runSelfTest(ctx, { podmanArgs: b.opts.podmanArgs, timeoutMs: b.opts.selfTestTimeoutMs }, {
      command: manifest.selfTest,
      model: row.model,
      label,
      snapshotId: row.id,
      hasBase: built.baseDigest !== null,
      manifest: { digest: built.manifestDigest, mediaType: built.mediaType, bytes: built.manifest },
    });
  }
  b.progress(`storing the image in ${ctx.images.location}`);
  await timeStage('push (blobs + manifest)', () => ctx.images.putManifest(row.model, label, built.manifest, built.mediaType));
  const version: Version = {
    model: row.model,
    label,
    imageRef: imageRefFor(ctx.images, row.model, label),
    digest: built.manifestDigest,
    baseImage: manifest.baseImage ?? null,
    baseDigest: built.baseDigest,
    entrypoints: manifest.entrypoints,
    git: { sha: git.sha, dirty: git.dirty, ...(git.branch !== undefined ? { branch: git.branch } : {}) },
    sizeBytes: built.sizeBytes,
    fileCount: manifest.files.length,
    createdBy: row.created_by,
    createdAt,
  };
  if (!(await insertVersion(ctx.db, version))) {
    const raced = await getVersion(ctx.db, row.model, label);
    if (raced) return sameOrConflict(ctx, raced, built.configDigest);
  }
  ctx.bus.publish({ kind: 'version', data: version });
  return version;
}


/** the code layer's files: the manifest's, each read where `source` says */
export const codeFiles = (manifest: CreateSnapshot, source: (sha256: string) => FileSource): CodeFile[] => manifest.files.map((f) => ({ path: f.path, mode: f.mode, ...source(f.sha256) }));

/** where dependency layers are remembered by lock hash (one definition: the collector keeps what it names) */
export const dependencyCacheDir = dependencyLayersDir;

/** where what Python a base image has is remembered by its layers (dependencies.ts scanBasePython) */
export const baseScansDir = (ctx: AppContext): string => join(ctx.dirs.blobs, '.base-scans');


/** the install strategy's podman and pip */
export function installOptions(ctx: AppContext, opts: SnapshotsOptions): InstallOptions {
  const local = ctx.config.executor.local;
  return { podmanArgs: opts.podmanArgs, podman: local.podman, hostPython: local.python, viewsDir: join(ctx.config.home, 'oci-views') };
}


/** a registry tag holds one label ("+" maps to "_"): refuse to move a tag that another label owns */
async function assertTagFree(ctx: AppContext, model: string, label: string): Promise<void> {
  if (!(ctx.images instanceof RegistryStore)) return;
  const stored = await ctx.images.getManifest(model, label);
  if (!stored) return;
  const owner = (JSON.parse(stored.bytes.toString('utf8')) as { annotations?: Record<string, string> }).annotations?.['dev.trainyard.version'];
  if (owner !== undefined && owner !== label) {
    throw conflict(`version "${label}" would use registry tag "${tagFor(label)}", which version "${owner}" already has ("+" becomes "_" in tags); pick another label with --version`, { model, version: label, owner });
  }
}


/** an existing version is returned when its image has the same config digest, else 409 */
async function sameOrConflict(ctx: AppContext, existing: Version, configDigest: string): Promise<Version> {
  const stored = await ctx.images.getManifest(existing.model, existing.digest);
  const existingConfig = stored ? (JSON.parse(stored.bytes.toString('utf8')) as { config?: { digest?: string } }).config?.digest : null;
  if (existingConfig === configDigest) return existing;
  throw conflict(
    `model "${existing.model}" already has a version "${existing.label}" with different content; versions are immutable: pick another label with --version (or commit your changes to get a new git SHA)`,
    { model: existing.model, version: existing.label, digest: existing.digest },
  );
}

