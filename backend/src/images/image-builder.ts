/**
 * Builds the image of a snapshot: [base image layers] + [dependency layer, when
 * the workspace environment has distributions the base lacks: dependencies.ts]
 * + one code layer. The dependency layer is copied (copy strategy) or built by
 * pip inside the base image (install strategy, install.ts).
 *
 * The code layer holds the workspace under /app/, the `trainyard` Python module
 * under /opt/trainyard/python/, and /opt/trainyard/bin/python, a relative symlink
 * to the base's python3 (/usr/local/bin/python3 when the base has it, else
 * /usr/bin/python3). The config is deterministic (created = the epoch, keys in a
 * fixed order), so the same content gives the same config digest; the real
 * build time is the manifest's `org.opencontainers.image.created` annotation.
 * The manifest is written as a blob but not tagged: the caller decides.
 */
import { createHash } from 'node:crypto';
import type { ImageStore } from './image-store';
import { MEDIA_MANIFEST } from './oci-layout';
import type { SnapshotEnvironment } from '@trainyard/shared';
import type { FileSource, WrittenLayer } from './layer';
import { codeLayerEntries, writeCodeLayer, type CodeFile } from './code-layer';
import type { Compression } from './compression';
import { DependencyError, planDependencies, scanBasePython, writeDependencyLayer } from './dependencies';
import { resolveBaseImage, type Descriptor, type ImageConfig, type ImageManifest, type ResolvedBase } from './base-image';
import { installDependencyLayer, type InstallOptions } from './install';
import { timeStage } from '@trainyard/shared/snapshot/stages';

export const MEDIA_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const ENTRYPOINTS_LABEL = 'dev.trainyard.entrypoints';
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const EPOCH = '1970-01-01T00:00:00Z';

export interface BuildImageInput {
  model: string;
  version: string;
  files: CodeFile[];
  entrypoints: Record<string, string>;
  baseImage?: string | null;
  /** baseImage as resolved already (the snapshot's plan was made for it): not resolved again */
  resolvedBase?: Promise<ResolvedBase>;
  git: { sha: string | null; dirty: boolean };
  /** org.opencontainers.image.source */
  source: string;
  /** the workspace's Python environment: a dependency layer of what the base lacks (copy strategy) */
  environment?: SnapshotEnvironment | null;
  /** where the environment's uploaded files are, and where dependency layers are remembered by lock hash */
  dependencies?: {
    blobSource: (sha256: string) => FileSource;
    cacheDir: string;
    /** where base image scans are remembered (none: per process only) */
    scanCacheDir?: string;
    /** the install strategy's podman and pip (none: install is refused) */
    install?: InstallOptions;
  };
  /** org.opencontainers.image.created; default now */
  created?: string;
  /** how the new layers are compressed (images.compression; default gzip:6) */
  compression?: Compression;
  tmpDir?: string;
}

export interface BuiltImage {
  manifest: Buffer;
  manifestDigest: string;
  mediaType: string;
  configDigest: string;
  layers: Descriptor[];
  baseDigest: string | null;
  /** the dependency layer, when the environment added one */
  dependencyLayer: { digest: string; lockHash: string; distributions: number; reused: boolean; strategy: 'copy' | 'install' } | null;
  /** config + layers, compressed */
  sizeBytes: number;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sortedObject = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function setEnv(env: string[], name: string, value: string): string[] {
  const out = env.filter((e) => !e.startsWith(`${name}=`));
  out.push(`${name}=${value}`);
  return out;
}
const getEnv = (env: string[], name: string) => env.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);

export async function buildImage(store: ImageStore, input: BuildImageInput): Promise<BuiltImage> {
  const base = input.baseImage ? await timeStage('base image', () => input.resolvedBase ?? resolveBaseImage(input.baseImage!, store)) : null;
  const baseLayers = base?.layers ?? [];
  // a registry store pushes (or mounts) each blob as soon as it is known, while the rest is built
  const ahead = (d: Descriptor) => store.pushAhead?.(input.model, d);
  baseLayers.forEach(ahead);

  // what Python the base has (remembered on disk by its layers: a restarted backend does not read them again)
  const basePy = base ? await timeStage('scan base python', () => scanBasePython(store, baseLayers, input.dependencies?.scanCacheDir)) : null;
  const python = basePy?.interpreter ?? 'usr/bin/python3';
  // the code layer is written while the dependency layer is (or was written ahead: code-layer.ts)
  const entries = await codeLayerEntries(input.files, python);
  const codeP = timeStage('layer: code', () => writeCodeLayer(store, entries, { tmpDir: input.tmpDir, compression: input.compression }), (l) => l.size).then((l) => (ahead(l), l));
  codeP.catch(() => undefined); // awaited below

  let dep: (WrittenLayer & { reused: boolean; lockHash: string; distributions: number; strategy: 'copy' | 'install' }) | null = null;
  if (input.environment && base && basePy) {
    const plan = planDependencies(input.environment, basePy, base.ref);
    if (plan.delta.length) {
      if (!input.dependencies) throw new DependencyError('the environment needs a dependency layer but the builder got no uploaded files');
      const { install, scanCacheDir: _, ...copyOpts } = input.dependencies;
      let written: WrittenLayer & { reused: boolean };
      if (plan.strategy === 'copy') written = await timeStage('layer: dependencies', () => writeDependencyLayer(store, plan, { ...copyOpts, tmpDir: input.tmpDir, compression: input.compression, upload: store.beginUpload ? () => store.beginUpload!(input.model) : undefined }), (l) => l.size);
      else if (!install) throw new DependencyError(`cannot add the workspace's ${plan.delta.length} extra distributions to ${base.ref}: ${plan.notCopy}; and this builder cannot run the install strategy`);
      else written = await installDependencyLayer(store, plan, base, basePy, { ...install, cacheDir: copyOpts.cacheDir, tmpDir: input.tmpDir, compression: input.compression });
      dep = { ...written, lockHash: plan.lockHash, distributions: plan.delta.length, strategy: plan.strategy };
      ahead(dep);
    }
  }
  const code = await codeP;
  const ownLayers = [...(dep ? [dep] : []), code];

  const baseConfig = base?.config;
  let env = [...(baseConfig?.config?.Env ?? [])];
  env = setEnv(env, 'PATH', `/opt/trainyard/bin:${getEnv(env, 'PATH') || DEFAULT_PATH}`);
  const basePyPath = getEnv(env, 'PYTHONPATH');
  env = setEnv(env, 'PYTHONPATH', basePyPath ? `/opt/trainyard/python:${basePyPath}` : '/opt/trainyard/python');
  env = setEnv(env, 'PYTHONUNBUFFERED', '1');

  const config: ImageConfig = {
    created: EPOCH,
    architecture: 'amd64',
    os: 'linux',
    config: {
      ...(baseConfig?.config ?? {}),
      Env: env,
      WorkingDir: '/app',
      Labels: { ...(baseConfig?.config?.Labels ?? {}), [ENTRYPOINTS_LABEL]: JSON.stringify(sortedObject(input.entrypoints)) },
    },
    rootfs: { type: 'layers', diff_ids: [...(baseConfig?.rootfs.diff_ids ?? []), ...ownLayers.map((l) => l.diffId)] },
    history: [
      ...(baseConfig?.history ?? baseLayers.map(() => ({ created: EPOCH, created_by: `base image ${input.baseImage}` }))),
      ...(dep ? [{ created: EPOCH, created_by: `trainyard save: dependency layer (${dep.strategy} of ${dep.distributions} distributions, lock sha256:${dep.lockHash})` }] : []),
      { created: EPOCH, created_by: 'trainyard save: code layer (/app, /opt/trainyard)' },
    ],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configBytes);
  const configStored = store.putBlob(configDigest, configBytes).then(() => ahead({ mediaType: MEDIA_CONFIG, digest: configDigest, size: configBytes.length }));
  configStored.catch(() => undefined); // awaited below, with the manifest's

  const layers: Descriptor[] = [...baseLayers, ...ownLayers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }))];
  const annotations: Record<string, string> = {
    'org.opencontainers.image.created': input.created ?? new Date().toISOString(),
    'org.opencontainers.image.source': input.source,
    ...(input.git.sha ? { 'org.opencontainers.image.revision': input.git.sha } : {}),
    'dev.trainyard.model': input.model,
    'dev.trainyard.version': input.version,
  };
  if (base) {
    annotations['org.opencontainers.image.base.name'] = base.ref;
    annotations['org.opencontainers.image.base.digest'] = base.digest;
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_MANIFEST,
    config: { mediaType: MEDIA_CONFIG, digest: configDigest, size: configBytes.length },
    layers,
    annotations,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = sha256(manifestBytes);
  await Promise.all([configStored, store.putBlob(manifestDigest, manifestBytes)]);
  return {
    manifest: manifestBytes,
    manifestDigest,
    mediaType: MEDIA_MANIFEST,
    configDigest,
    layers,
    baseDigest: base?.digest ?? null,
    dependencyLayer: dep ? { digest: dep.digest, lockHash: dep.lockHash, distributions: dep.distributions, reused: dep.reused, strategy: dep.strategy } : null,
    sizeBytes: configBytes.length + layers.reduce((n, l) => n + l.size, 0),
  };
}
