/**
 * The dependency layer: what the workspace's Python environment has that the
 * base image lacks.
 *
 * scanBasePython() reads the base image's layers once (cached per layer set, and on disk):
 * its Python (usr[/local]/lib/python3.X/os.py), ABI tag (lib-dynload/*.cpython-…so),
 * whether it has usr/local/bin/python3 (what a version's python links to) and installed distributions (`*.dist-info` / `*.egg-info` under site- or
 * dist-packages). planDependencies() computes the delta (names compared
 * PEP 503-normalized, a different version counts) and picks the strategy:
 * `copy` when the workspace runs on Linux with the base's ABI tag (its files go
 * into the layer at the base's site directory: usr/local/lib/python3.X/site-packages
 * when the base's Python lives in /usr/local, else Debian's
 * usr/local/lib/python3.X/dist-packages, both on the base's sys.path); `install`
 * when the client asks for it (--strategy install) or copy cannot be used (the
 * reasons are kept on the plan for error messages): `pip install --no-deps` of
 * the delta pinned `name==version`, inside the base image (install.ts). A base
 * without Python gets neither. writeDependencyLayer() (copy) is keyed by the
 * hash of the lock (site dir + delta names, versions, file hashes and modes): a
 * lock seen before reuses its layer without re-reading a file; the install lock
 * is the site dir + the pins.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Distribution, SnapshotEnvironment } from '@trainyard/shared';
import type { ImageStore } from './image-store';
import type { Descriptor, ImageConfig } from './base-image';
import { listLayerEntries, perStore } from './layer-read';
import { writeLayer, type FileSource, type LayerEntry, type WriteLayerOptions, type WrittenLayer } from './layer';
import { DEFAULT_COMPRESSION, type Compression } from './compression';
import { mapLimit } from '@trainyard/shared/map-limit';
import { writeAtomic } from '@trainyard/shared/write-atomic';

export interface BasePython {
  /** "3.11", or null when the base has no Python */
  version: string | null;
  abi: string | null;
  /** image path of the site directory the dependency layer uses, without a leading "/" */
  siteDir: string | null;
  /** the python3 a version's /opt/trainyard/bin/python links to: usr/local/bin/python3 when the base has it, else usr/bin/python3 */
  interpreter: string;
  /** normalized name → version */
  distributions: Map<string, string>;
}

export class DependencyError extends Error {}

export const normalizeName = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');

const scanCacheOf = perStore<Promise<BasePython>>();

/**
 * What Python the base has, read once per layer set: remembered per store (backend) and, with
 * `cacheDir`, in a file named by the layers' digests, so a restarted backend does not inflate
 * the base's layers again (a layer's content never changes under its digest).
 */
export function scanBasePython(store: ImageStore, layers: Descriptor[], cacheDir?: string): Promise<BasePython> {
  const key = layers.map((l) => l.digest).join(',');
  const scanCache = scanCacheOf(store);
  let p = scanCache.get(key);
  if (!p) {
    p = cacheDir ? scanRemembered(store, layers, join(cacheDir, `${createHash('sha256').update(key).digest('hex')}.json`)) : doScan(store, layers);
    p.catch(() => scanCache.delete(key));
    scanCache.set(key, p);
  }
  return p;
}

/** the scan file's shape; anything else (a torn or foreign file) is scanned again */
interface ScanFile { format: number; layers: string[]; version: string | null; abi: string | null; siteDir: string | null; interpreter: string; distributions: Array<[string, string]> }
/** the scan's rules: a file written under other rules is scanned again (2: whiteouts applied; 3: the interpreter) */
const SCAN_FORMAT = 3;
const str = (x: unknown) => typeof x === 'string';
const strOrNull = (x: unknown) => x === null || typeof x === 'string';

function parseScanFile(text: string, layers: string[]): BasePython | null {
  const f = JSON.parse(text) as Partial<ScanFile> | null;
  const ok = !!f && typeof f === 'object' && f.format === SCAN_FORMAT && Array.isArray(f.layers) && f.layers.join(',') === layers.join(',') && strOrNull(f.version) && strOrNull(f.abi) && strOrNull(f.siteDir) && INTERPRETERS.includes(f.interpreter!) &&
    Array.isArray(f.distributions) && f.distributions.every((d) => Array.isArray(d) && d.length === 2 && str(d[0]) && str(d[1]));
  return ok ? { version: f.version!, abi: f.abi!, siteDir: f.siteDir!, interpreter: f.interpreter!, distributions: new Map(f.distributions) } : null;
}

/** scan files kept: one per base image layer set seen, the oldest dropped beyond this */
const MAX_SCAN_FILES = 256;

async function scanRemembered(store: ImageStore, layers: Descriptor[], file: string): Promise<BasePython> {
  const digests = layers.map((l) => l.digest);
  const known = await readFile(file, 'utf8').then((t) => parseScanFile(t, digests), () => null).catch(() => null);
  if (known) return known;
  const scanned = await doScan(store, layers);
  const body: ScanFile = { format: SCAN_FORMAT, layers: digests, version: scanned.version, abi: scanned.abi, siteDir: scanned.siteDir, interpreter: scanned.interpreter, distributions: [...scanned.distributions] };
  // remembering is an optimisation: a full disk or a read-only data home only costs a scan next time
  await (async () => {
    const dir = dirname(file);
    await mkdir(dir, { recursive: true });
    await writeAtomic(file, JSON.stringify(body));
    const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
    if (names.length > MAX_SCAN_FILES) {
      const aged = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })));
      aged.sort((a, b) => a.t - b.t);
      for (const { n } of aged.slice(0, names.length - MAX_SCAN_FILES)) await rm(join(dir, n), { force: true });
    }
  })().catch(() => undefined);
  return scanned;
}

const LOCAL_PYTHON = 'usr/local/bin/python3';
const INTERPRETERS = [LOCAL_PYTHON, 'usr/bin/python3'];

/** whether a whiteout hiding `hidden` (a path, or a folder ending in "/" for an opaque one) hides `path` */
const hides = (hidden: string, path: string) => path === hidden || path.startsWith(hidden.endsWith('/') ? hidden : `${hidden}/`);

/** layers listed at once (each inflates on its own thread-pool thread); their facts are applied bottom up */
const SCAN_PARALLEL = 3;

async function doScan(store: ImageStore, layers: Descriptor[]): Promise<BasePython> {
  let version: string | null = null;
  let local = false;
  let abi: string | null = null;
  let localPython = false;
  /** the .dist-info / .egg-info folder (or file) of each distribution the layers so far leave in place */
  const installed = new Map<string, { name: string; version: string }>();
  const listings = await mapLimit(layers, SCAN_PARALLEL, (l) => listLayerEntries(store, l));
  for (const entries of listings) {
    // a layer's whiteouts hide what the layers below it have (OCI image spec, "Whiteouts"); its own entries stay
    for (const { name } of entries) {
      const slash = name.lastIndexOf('/');
      const base = name.slice(slash + 1);
      if (!base.startsWith('.wh.')) continue;
      const hidden = base === '.wh..wh..opq' ? name.slice(0, slash + 1) : `${name.slice(0, slash + 1)}${base.slice(4)}`;
      for (const dir of [...installed.keys()]) if (hides(hidden, dir)) installed.delete(dir);
      if (hides(hidden, LOCAL_PYTHON)) localPython = false;
    }
    for (const { name, type } of entries) {
      if (name.slice(name.lastIndexOf('/') + 1).startsWith('.wh.')) continue;
      if (name === LOCAL_PYTHON) {
        localPython = type !== 'directory';
        continue;
      }
      let m = /^usr\/(local\/)?lib\/python(3\.\d+)\/os\.py$/.exec(name);
      if (m) {
        version = m[2];
        local = !!m[1];
        continue;
      }
      m = /^usr\/(?:local\/)?lib\/python3\.\d+\/lib-dynload\/[^/]+\.(cpython-[^.]+)\.so$/.exec(name);
      if (m) {
        abi = m[1];
        continue;
      }
      m = /^(.*(?:^|\/)(?:site|dist)-packages\/([^/]+?)-([^-/]+?)\.(?:dist|egg)-info)(?:\/|$)/.exec(name);
      if (m) installed.set(m[1], { name: m[2], version: m[3] });
    }
  }
  const distributions = new Map<string, string>();
  for (const d of installed.values()) distributions.set(normalizeName(d.name), d.version);
  const siteDir = version ? (local ? `usr/local/lib/python${version}/site-packages` : `usr/local/lib/python${version}/dist-packages`) : null;
  return { version, abi, siteDir, interpreter: localPython ? LOCAL_PYTHON : 'usr/bin/python3', distributions };
}

/**
 * What the base's scan will most likely answer, from the environment and the base's config alone
 * (no layer is read), for writing the dependency layer while the scan runs: the environment's
 * Python version and ABI tag; the site directory of a Python built into /usr/local when the config
 * sets PYTHON_VERSION (the python:3.x images do), else Debian's; and as installed, only the
 * distributions the config's text pins (those images pip-install pip and setuptools in a RUN
 * line, "pip==24.0", or set PYTHON_PIP_VERSION). A guess: a plan made from it is used only when
 * the scan's plan has the same lock hash. Null when the environment's Python has no X.Y version.
 */
export function guessBasePython(env: SnapshotEnvironment, config: ImageConfig): BasePython | null {
  const version = /^(3\.\d+)(?:\.|$)/.exec(env.python)?.[1];
  if (!version) return null;
  const vars = config.config?.Env ?? [];
  const local = vars.some((e) => e.startsWith('PYTHON_VERSION='));
  const text = [...vars, ...(config.history ?? []).map((h) => (typeof h.created_by === 'string' ? h.created_by : ''))].join('\n');
  const distributions = new Map<string, string>();
  for (const m of text.matchAll(/([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9][A-Za-z0-9.+!_-]*)/g)) distributions.set(normalizeName(m[1]), m[2]);
  for (const m of text.matchAll(/PYTHON_([A-Z0-9]+)_VERSION=([A-Za-z0-9][A-Za-z0-9.+!_-]*)/g)) distributions.set(normalizeName(m[1]), m[2]);
  return {
    version,
    abi: env.abi || null,
    siteDir: local ? `usr/local/lib/python${version}/site-packages` : `usr/local/lib/python${version}/dist-packages`,
    interpreter: local ? LOCAL_PYTHON : 'usr/bin/python3',
    distributions,
  };
}

export interface DependencyPlan {
  strategy: 'copy' | 'install';
  siteDir: string;
  /** the base's interpreter inside the image, e.g. /usr/bin/python3 */
  python: string;
  delta: Distribution[];
  lockHash: string;
  /** install only: why copy is not used ("asked for" or the reasons) */
  notCopy?: string;
}

/**
 * plans made, per environment and base scan object: a save plans at create, build start and build,
 * and an environment of 20,000 files costs tens of ms to hash into its lock each time
 */
const plans = new WeakMap<SnapshotEnvironment, WeakMap<BasePython, DependencyPlan>>();

/** the delta and strategy, or a DependencyError saying why no strategy can be used */
export function planDependencies(env: SnapshotEnvironment, base: BasePython, baseRef: string): DependencyPlan {
  let byBase = plans.get(env);
  const known = byBase?.get(base);
  if (known) return known;
  const plan = makePlan(env, base, baseRef);
  if (!byBase) plans.set(env, (byBase = new WeakMap()));
  byBase.set(base, plan);
  return plan;
}

function makePlan(env: SnapshotEnvironment, base: BasePython, baseRef: string): DependencyPlan {
  const delta = env.distributions.filter((d) => base.distributions.get(normalizeName(d.name)) !== d.version);
  if (!base.version || !base.siteDir) {
    throw new DependencyError(`base image ${baseRef} has no Python under /usr/lib or /usr/local/lib, so its dependencies cannot be added (neither copied nor pip-installed); pick a base image with Python ${env.python}`);
  }
  const python = base.siteDir.endsWith('/site-packages') ? '/usr/local/bin/python3' : '/usr/bin/python3';
  const why: string[] = [];
  if (env.platform !== 'linux') why.push(`the workspace Python runs on ${env.platform}, not linux`);
  if (env.implementation !== 'cpython') why.push(`the workspace Python is ${env.implementation}, not cpython`);
  if (!base.abi) why.push(`the base image's Python ${base.version} has no lib-dynload ABI tag to compare with`);
  else if (env.abi !== base.abi) why.push(`the workspace Python's ABI is ${env.abi || 'unknown'} but the base image's is ${base.abi}`);
  const missingFiles = delta.filter((d) => !d.files);
  if (missingFiles.length) why.push(`the environment lists no installed files for ${missingFiles.map((d) => `${d.name} ${d.version}`).slice(0, 5).join(', ')}`);
  if (env.strategy === 'install' || why.length) {
    const pins = delta.map((d) => [normalizeName(d.name), d.version] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const lock = [base.siteDir, python, 'install', pins];
    return {
      strategy: 'install',
      siteDir: base.siteDir,
      python,
      delta,
      lockHash: createHash('sha256').update(JSON.stringify(lock)).digest('hex'),
      notCopy: env.strategy === 'install' ? 'the install strategy was asked for' : `copy cannot be used: ${why.join('; ')}`,
    };
  }
  const lock = [base.siteDir, delta.map((d) => [normalizeName(d.name), d.version, (d.files ?? []).map((f) => [f.path, f.sha256, f.mode])])];
  return { strategy: 'copy', siteDir: base.siteDir, python, delta, lockHash: createHash('sha256').update(JSON.stringify(lock)).digest('hex') };
}

const shasOf = new WeakMap<SnapshotEnvironment, string[]>();

/**
 * all sha256s of the files a copy of `env` may need (every distribution: the delta is known only at
 * build time), kept per environment object (a known environment is the same object: environments.ts)
 */
export function environmentShas(env: SnapshotEnvironment | undefined): string[] {
  if (!env) return [];
  let shas = shasOf.get(env);
  if (!shas) shasOf.set(env, (shas = env.distributions.flatMap((d) => (d.files ?? []).map((f) => f.sha256))));
  return shas;
}

/** the file in the dependency-layer cache that remembers the layer of a lock hash, per compression setting */
export function dependencyIndexName(lockHash: string, compression: Compression = DEFAULT_COMPRESSION): string {
  return `${lockHash}.${compression.algorithm}-${compression.level}.json`;
}

/** the layer remembered for this lock hash and compression, when the store still has its blob */
export async function cachedDependencyLayer(store: ImageStore, cacheDir: string, lockHash: string, compression?: Compression): Promise<WrittenLayer | null> {
  try {
    const known = JSON.parse(await readFile(join(cacheDir, dependencyIndexName(lockHash, compression)), 'utf8')) as WrittenLayer;
    if (known.mediaType && (await store.hasBlob(known.digest))) return known;
  } catch {
    /* not built yet */
  }
  return null;
}

/** dependency layers being written, by their index file: a second writer of the same lock waits for the first (e.g. the build for one written ahead) */
const writing = new Map<string, Promise<WrittenLayer>>();

/**
 * The copy strategy's layer for `plan`: the one remembered for its lock, else the one being written
 * for it now, else written. `signal` stops a write of this call's own; one that waits for another's
 * write is not stopped by it, and writes the layer itself when that one fails or is stopped.
 */
export async function writeDependencyLayer(
  store: ImageStore,
  plan: DependencyPlan,
  opts: { blobSource: (sha256: string) => FileSource; cacheDir: string; tmpDir?: string; compression?: Compression; upload?: WriteLayerOptions['upload']; signal?: AbortSignal },
): Promise<WrittenLayer & { reused: boolean }> {
  const indexFile = join(opts.cacheDir, dependencyIndexName(plan.lockHash, opts.compression));
  // a stopped write rejects with its reason, also when another write of the lock would answer it
  opts.signal?.throwIfAborted();
  for (let other = writing.get(indexFile); other; other = writing.get(indexFile)) {
    const got = await other.catch(() => null);
    opts.signal?.throwIfAborted();
    if (got) return { ...got, reused: false };
  }
  const known = await cachedDependencyLayer(store, opts.cacheDir, plan.lockHash, opts.compression);
  opts.signal?.throwIfAborted();
  if (known) return { ...known, reused: true };
  if (writing.has(indexFile)) return writeDependencyLayer(store, plan, opts); // another began while this one looked
  const mine = writeCopyLayer(store, plan, indexFile, opts);
  writing.set(indexFile, mine);
  try {
    return { ...(await mine), reused: false };
  } finally {
    if (writing.get(indexFile) === mine) writing.delete(indexFile);
  }
}

async function writeCopyLayer(store: ImageStore, plan: DependencyPlan, indexFile: string, opts: Parameters<typeof writeDependencyLayer>[2]): Promise<WrittenLayer> {
  const entries: LayerEntry[] = [{ type: 'dir', path: plan.siteDir }];
  const seen = new Set<string>();
  for (const d of plan.delta) {
    for (const f of d.files ?? []) {
      if (seen.has(f.path)) continue; // two distributions claiming one file: the first wins
      seen.add(f.path);
      entries.push({ type: 'file', path: `${plan.siteDir}/${f.path}`, mode: f.mode, source: opts.blobSource(f.sha256) });
    }
  }
  const layer = await writeLayer(store, entries, { tmpDir: opts.tmpDir, compression: opts.compression, upload: opts.upload, signal: opts.signal });
  await mkdir(opts.cacheDir, { recursive: true });
  await writeAtomic(indexFile, JSON.stringify(layer));
  return layer;
}
