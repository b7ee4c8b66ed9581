/**
 * `npm run image:backend`: the backend's OCI image, built by Trainyard's own daemonless image
 * writer (backend/src/images: the layer writer and registry store Save Model uses) onto the Node
 * base image (node-base.ts), pushed to the registry given, and the kustomize base (deploy/)
 * rendered with the image pinned by its digest.
 *   npm run image:backend -- --registry http://registry.example:5000/team [--repo trainyard-backend]
 *       [--tag TAG] [--kustomize DIR] [--out FILE]
 * The registry may also come from TRAINYARD_IMAGE_REGISTRY (credentials as for Save Model:
 * TRAINYARD_REGISTRY_USERNAME / _PASSWORD). Prints the pinned reference on stdout.
 *
 * Layers: the base's two (Debian libraries, node), then one of the backend: a standalone esbuild
 * bundle of the CLI and server (every npm dependency bundled: no node_modules in the image) under
 * /opt/trainyard/backend/dist with the dashboard, and the in-image Python module under
 * /opt/trainyard/python (the backend ships it into every model image it builds).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { openImageStore } from '../../backend/src/images/open';
import { parseRegistryUrl } from '../../backend/src/images/registry/reference';
import { resolveBaseImage, type ImageConfig } from '../../backend/src/images/base-image';
import { writeLayer, type LayerEntry } from '../../backend/src/images/layer';
import { MEDIA_MANIFEST } from '../../backend/src/images/oci-layout';
import { MEDIA_CONFIG } from '../../backend/src/images/image-builder';
import { pythonHelperPath } from '../../backend/src/images/python-helper';
import { BACKEND_UID, cacheRoot, ensureNodeBase, NODE_VERSION, sha256Of } from './node-base';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const log = (s: string) => process.stderr.write(`image:backend: ${s}\n`);

export interface BackendImage {
  /** host/ns/repo@sha256:… */
  pinned: string;
  digest: string;
  /** config + layers, compressed */
  sizeBytes: number;
  layers: number;
}

/** the standalone bundle: the CLI (backend/src/cli/main.ts) and its threads' modules (backend/bundle-entries.json, as backend/build.mjs) with every dependency, into dir */
async function bundle(dir: string): Promise<void> {
  const entries = JSON.parse(readFileSync(join(REPO, 'backend/bundle-entries.json'), 'utf8')) as Record<string, string>;
  await build({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, src]) => [name, join(REPO, 'backend', src)])),
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${NODE_VERSION.split('.')[0]}`,
    minify: true,
    legalComments: 'none',
    external: ['pg-native'], // pg's optional native binding, loaded only when asked for
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
}

function filesUnder(dir: string, prefix: string): LayerEntry[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => ({ type: 'file' as const, path: `${prefix}/${f}`, mode: 0o644, source: { file: join(dir, f) } }));
}

export async function buildBackendImage(opts: { registry: string; repo?: string; tag?: string }): Promise<BackendImage> {
  const t0 = Date.now();
  const repo = opts.repo ?? 'trainyard-backend';
  const tag = opts.tag ?? defaultTag();
  const dashboard = join(REPO, 'backend/dist/dashboard');
  if (!existsSync(join(dashboard, 'manifest.json'))) throw new Error('backend/dist/dashboard is missing: run `npm run build` first (npm run image:backend does)');
  const base = await ensureNodeBase(log);
  const work = mkdtempSync(join(tmpdir(), 'ty-image-backend-'));
  try {
    await bundle(join(work, 'dist'));
    const store = openImageStore(opts.registry, { cacheDir: join(cacheRoot(), 'image-cache') });
    const from = await resolveBaseImage(`oci-layout:${base}:node:latest`, store);
    from.layers.forEach((l) => store.pushAhead?.(repo, l));
    const layer = await writeLayer(store, [
      ...filesUnder(join(work, 'dist'), 'opt/trainyard/backend/dist'),
      ...filesUnder(dashboard, 'opt/trainyard/backend/dist/dashboard'),
      { type: 'file', path: 'opt/trainyard/python/trainyard/__init__.py', mode: 0o644, source: { file: pythonHelperPath() } },
      { type: 'dir', path: 'var/lib/trainyard', mode: 0o755 },
    ]);
    store.pushAhead?.(repo, layer);
    const config: ImageConfig = {
      ...from.config,
      created: '1970-01-01T00:00:00Z',
      config: {
        ...from.config.config,
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production', 'TRAINYARD_HOME=/var/lib/trainyard'],
        User: `${BACKEND_UID}:${BACKEND_UID}`,
        Entrypoint: ['/usr/local/bin/node', '/opt/trainyard/backend/dist/trainyard.mjs'],
        Cmd: ['serve'],
        WorkingDir: '/var/lib/trainyard',
        ExposedPorts: { '7878/tcp': {} },
        Labels: { 'org.opencontainers.image.title': 'trainyard-backend' },
      },
      rootfs: { type: 'layers', diff_ids: [...from.config.rootfs.diff_ids, layer.diffId] },
      history: [...(from.config.history ?? []), { created: '1970-01-01T00:00:00Z', created_by: 'trainyard image:backend: the backend bundle, dashboard and Python module under /opt/trainyard' }],
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = sha256Of(configBytes);
    await store.putBlob(configDigest, configBytes);
    const layers = [...from.layers, { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }];
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_MANIFEST,
      config: { mediaType: MEDIA_CONFIG, digest: configDigest, size: configBytes.length },
      layers,
      annotations: { 'org.opencontainers.image.base.name': `node:${NODE_VERSION}`, 'org.opencontainers.image.base.digest': from.digest, ...gitAnnotation() },
    }));
    const digest = await store.putManifest(repo, tag, manifest, MEDIA_MANIFEST);
    const ref = store.imageRef(repo, tag);
    const pinned = `${ref.slice(0, ref.lastIndexOf(':'))}@${digest}`;
    const sizeBytes = configBytes.length + layers.reduce((n, l) => n + l.size, 0);
    log(`pushed ${ref} (${digest}): ${layers.length} layers, ${(sizeBytes / 1048576).toFixed(1)} MiB compressed, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return { pinned, digest, sizeBytes, layers: layers.length };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * kustomize DIR (deploy/ or an overlay of it) with the image `trainyard-backend` set to `pinned`
 * (repo@digest), through a temporary kustomization over it: `kubectl kustomize` (KUBECTL, else kubectl on PATH).
 */
export function renderManifests(pinned: string, kustomizeDir = join(REPO, 'deploy')): string {
  const at = pinned.lastIndexOf('@');
  const tmp = mkdtempSync(join(tmpdir(), 'ty-render-'));
  try {
    writeFileSync(join(tmp, 'kustomization.yaml'), JSON.stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: [relative(tmp, resolve(kustomizeDir))],
      images: [{ name: 'trainyard-backend', newName: pinned.slice(0, at), digest: pinned.slice(at + 1) }],
    }));
    const kubectl = process.env.KUBECTL || 'kubectl';
    try {
      return execFileSync(kubectl, ['kustomize', tmp], { encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new Error(`rendering deploy/ needs kubectl (its built-in kustomize): ${kubectl} is not on PATH; install kubectl or set KUBECTL to one (test/k8s/build.sh kubectl builds one)`);
      throw new Error(`kubectl kustomize ${kustomizeDir} failed: ${(e.stderr ?? e.message).trim()}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function defaultTag(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'latest';
  }
}

function gitAnnotation(): Record<string, string> {
  try {
    return { 'org.opencontainers.image.revision': execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim() };
  } catch {
    return {};
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { registry: { type: 'string' }, repo: { type: 'string' }, tag: { type: 'string' }, kustomize: { type: 'string' }, out: { type: 'string' } },
  });
  const registry = values.registry ?? process.env.TRAINYARD_IMAGE_REGISTRY;
  if (!registry || !/^https?:\/\//.test(registry)) {
    throw new Error('give the registry to push to: --registry http(s)://host[:port][/namespace] (or TRAINYARD_IMAGE_REGISTRY), e.g. --registry https://registry.example.com/ml');
  }
  try {
    parseRegistryUrl(registry); // before anything is built
  } catch (err) {
    throw new Error(`--registry: ${(err as Error).message.replace(/^images\.registry /, '')}`);
  }
  const image = await buildBackendImage({ registry, repo: values.repo, tag: values.tag });
  const out = resolve(values.out ?? join(REPO, 'backend/dist/deploy.yaml'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, renderManifests(image.pinned, values.kustomize));
  log(`rendered ${values.kustomize ?? 'deploy/'} into ${out}; apply it with kubectl apply -f ${out}`);
  process.stdout.write(`${image.pinned}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`image:backend: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
