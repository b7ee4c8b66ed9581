/**
 * The `install` dependency strategy: `pip install --no-deps --no-compile
 * --target <scratch>` of the locked delta (exact `name==version` pins) inside
 * the base image with podman; what pip wrote becomes the dependency layer
 * (files under the base's site directory, `bin/` scripts under /usr/local/bin),
 * written deterministically (layer.ts) and remembered by the lock hash, so the
 * same lock reuses its layer without running pip again.
 *
 * pip: the base image's own (`python3 -m pip`) when it has one, else the
 * backend host's pip package (found with executor.local.python), bind-mounted
 * read-only and put on PYTHONPATH (pip is pure Python).
 * Index: the container uses the host's network (`--network=host`, so an index
 * or proxy on loopback works as it does for the host) and gets the host pip's
 * settings (`pip config list`, which includes PIP_* variables): index-url,
 * extra-index-url, trusted-host, find-links, timeouts, proxy, and the cert /
 * client-cert files (mounted read-only), plus http(s)_proxy/no_proxy. A failed
 * pip run is reported with its last lines and, when it looks like a network
 * failure, the index it tried to reach.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeAtomic } from '@trainyard/shared/write-atomic';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ImageStore } from './image-store';
import type { ResolvedBase } from './base-image';
import { DependencyError, type BasePython, type DependencyPlan } from './dependencies';
import { writeLayer, type LayerEntry, type WrittenLayer } from './layer';
import { dependencyIndexName } from './dependencies';
import type { Compression } from './compression';
import { containerId, findPodman, layoutView, runContainer, tlsFlags, type PodmanSetup, type RunnableImage } from './container';
import { MEDIA_MANIFEST } from './oci-layout';
import { parseLayoutRef } from './open';
import { parseRegistryRef } from './registry/reference';

export interface InstallOptions {
  /** podman global flags (default: detectPodman's) */
  podmanArgs?: string[];
  /** executor.local.podman: "never" also rules out install builds */
  podman?: 'auto' | 'always' | 'never';
  /** host interpreter whose pip is used when the base has none (executor.local.python) */
  hostPython: string;
  /** where one-image OCI views for podman go */
  viewsDir: string;
  /** default 15 minutes */
  timeoutMs?: number;
}

function execText(file: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(stderr.trim().split('\n').pop() || err.message)) : resolve(stdout)));
  });
}

const hostPipCache = new Map<string, Promise<{ pipDir: string; config: Array<[string, string]> } | string>>();

/** the host pip's package dir and settings, or why there is none */
function hostPip(python: string): Promise<{ pipDir: string; config: Array<[string, string]> } | string> {
  const key = `${python}\0${JSON.stringify(Object.entries(process.env).filter(([k]) => k.startsWith('PIP_')).sort())}`;
  let p = hostPipCache.get(key);
  if (!p) {
    p = (async () => {
      let pipDir: string;
      try {
        pipDir = (await execText(python, ['-c', 'import os, pip; print(os.path.dirname(pip.__file__))'])).trim();
      } catch (err) {
        return `the base image has no pip and the host Python (executor.local.python = ${JSON.stringify(python)}) has none to lend it (${(err as Error).message})`;
      }
      const found: Array<[number, string, string]> = [];
      const text = await execText(python, ['-m', 'pip', 'config', 'list']).catch(() => '');
      // precedence as pip applies it: global < install < environment (later entries win)
      const rank: Record<string, number> = { global: 0, install: 1, ':env:': 2 };
      for (const line of text.split('\n')) {
        const m = /^([^=]*)\.([a-z-]+)='(.*)'$/.exec(line.trim());
        if (m && m[1] in rank) found.push([rank[m[1]], m[2], m[3]]);
      }
      const config = found.sort((a, b) => a[0] - b[0]).map(([, k, v]) => [k, v] as [string, string]);
      return { pipDir, config };
    })();
    hostPipCache.set(key, p);
  }
  return p;
}

const PASSED = new Set(['index-url', 'extra-index-url', 'trusted-host', 'find-links', 'default-timeout', 'timeout', 'retries', 'proxy', 'no-index', 'cert', 'client-cert']);

/** env and mounts for pip in the container, from the host pip's settings */
export function pipEnvironment(config: Array<[string, string]>): { env: Record<string, string>; mounts: string[]; index: string } {
  const env: Record<string, string> = {};
  const mounts: string[] = [];
  for (const [key, value] of config) {
    if (!PASSED.has(key)) continue;
    const name = `PIP_${key.toUpperCase().replace(/-/g, '_')}`;
    if (key === 'cert' || key === 'client-cert') {
      if (!existsSync(value)) continue;
      const inside = `/trainyard/pip-${key}.pem`;
      mounts.push('-v', `${value}:${inside}:ro`);
      env[name] = inside;
    } else if (key === 'find-links') {
      const local = value.split(/\s+/).filter((v) => v.startsWith('/') && existsSync(v));
      for (const dir of local) mounts.push('-v', `${dir}:${dir}:ro`);
      env[name] = value;
    } else env[name] = value;
  }
  for (const k of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) {
    const v = process.env[k];
    if (v) env[k] = v;
  }
  // no host is named here: without index-url, pip in the container uses its own default, as the host's pip does
  return { env, mounts, index: env.PIP_INDEX_URL ?? "pip's default index (neither pip config nor PIP_INDEX_URL sets index-url)" };
}

/** why the install strategy cannot be used here, or null */
export async function installUnavailable(basePy: BasePython, opts: InstallOptions): Promise<string | null> {
  if (opts.podman === 'never') return 'it runs pip inside the base image with podman, and executor.local.podman is "never"';
  const setup = await findPodman(opts.podmanArgs);
  if (!setup) return 'it runs pip inside the base image with podman, and podman was not found on PATH (install podman and runc)';
  if (!basePy.distributions.has('pip')) {
    const host = await hostPip(opts.hostPython);
    if (typeof host === 'string') return host;
  }
  return null;
}

/** a reference podman can run for the base image */
async function baseRunRef(base: ResolvedBase, viewsDir: string): Promise<RunnableImage> {
  const layout = parseLayoutRef(base.ref);
  if (layout) {
    const file = join(layout.dir, 'blobs', ...base.digest.split(':'));
    const bytes = await readFile(file);
    const mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? MEDIA_MANIFEST;
    return layoutView(viewsDir, join(layout.dir, 'blobs'), { digest: base.digest, mediaType, size: bytes.length });
  }
  const reg = parseRegistryRef(base.ref);
  if (!reg) throw new DependencyError(`base image ${base.ref} cannot be handed to podman`);
  return { image: `docker://${reg.endpoint.host}/${reg.repo}@${base.digest}`, cwd: null };
}

/** the layer entries for what pip wrote into `out` */
async function entriesOf(out: string, siteDir: string): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [{ type: 'dir', path: siteDir }];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(out, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const full = join(out, r);
      const st = await lstat(full);
      const dest = r.startsWith('bin/') ? `usr/local/${r}` : `${siteDir}/${r}`;
      if (st.isDirectory()) {
        if (r !== 'bin') entries.push({ type: 'dir', path: dest });
        await walk(r);
      } else if (st.isSymbolicLink()) entries.push({ type: 'symlink', path: dest, target: await readlink(full) });
      else if (st.isFile()) entries.push({ type: 'file', path: dest, mode: st.mode & 0o111 ? 0o755 : 0o644, source: { file: full } });
    }
  };
  await walk('');
  return entries;
}

async function cached(store: ImageStore, indexFile: string): Promise<WrittenLayer | null> {
  try {
    const known = JSON.parse(await readFile(indexFile, 'utf8')) as WrittenLayer;
    if (known.mediaType && (await store.hasBlob(known.digest))) return known;
  } catch {
    /* not built yet */
  }
  return null;
}

export async function installDependencyLayer(
  store: ImageStore,
  plan: DependencyPlan,
  base: ResolvedBase,
  basePy: BasePython,
  opts: InstallOptions & { cacheDir: string; tmpDir?: string; compression?: Compression },
): Promise<WrittenLayer & { reused: boolean }> {
  const indexFile = join(opts.cacheDir, dependencyIndexName(plan.lockHash, opts.compression));
  const known = await cached(store, indexFile);
  if (known) return { ...known, reused: true };

  const why = await installUnavailable(basePy, opts);
  if (why) throw new DependencyError(`cannot add the workspace's ${plan.delta.length} extra distributions to ${base.ref}: ${plan.notCopy ?? ''}; and the install strategy cannot be used: ${why}`);
  const setup = (await findPodman(opts.podmanArgs)) as PodmanSetup;
  const host = await hostPip(opts.hostPython);
  const pip = basePy.distributions.has('pip') || typeof host === 'string' ? null : host;
  const settings = pipEnvironment(typeof host === 'string' ? [] : host.config);
  const { image, cwd } = await baseRunRef(base, opts.viewsDir);
  const scratch = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'trainyard-install-'));
  try {
    const out = join(scratch, 'out');
    await mkdir(out);
    const pins = plan.delta.map((d) => `${d.name}==${d.version}`);
    const env: Record<string, string> = { ...settings.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', HOME: '/tmp', ...(pip ? { PYTHONPATH: '/trainyard/pip' } : {}) };
    const args = [
      '--network=host',
      '-v',
      `${out}:/trainyard/out`,
      ...(pip ? ['-v', `${pip.pipDir}:/trainyard/pip/pip:ro`] : []),
      ...settings.mounts,
      ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      ...tlsFlags(image),
      '--entrypoint',
      plan.python,
      image,
      '-m',
      'pip',
      'install',
      '--no-deps',
      '--no-compile',
      '--no-warn-script-location',
      '--target',
      '/trainyard/out',
      '--', // the pins are never options, whatever a manifest sent (validate.ts also checks their shape)
      ...pins,
    ];
    const res = await runContainer(setup, containerId('trainyard-install'), args, { timeoutMs: opts.timeoutMs ?? 15 * 60_000, lines: 30, cwd });
    if (res.code !== 0 || res.timedOut) {
      const network = /(NewConnectionError|Max retries exceeded|Temporary failure in name resolution|Could not fetch URL|SSLError|ProxyError|ConnectTimeout|Network is unreachable)/.test(res.tail);
      const none = /\(from versions: none\)/.test(res.tail);
      const hint = network || none
        ? ` The container could not reach the package index ${settings.index}${network ? '' : ' (pip found no versions at all there: unreachable, or it lacks the distribution)'}: set index-url (pip config or PIP_INDEX_URL in the backend's environment) to an index reachable from this machine, or use the copy strategy.`
        : ' Check that every pinned version exists on the index for the base image\'s Python (Linux, its version), or use the copy strategy from a matching Linux Python.';
      const what = res.timedOut ? 'did not finish in time' : `failed (exit code ${res.code})`;
      throw new DependencyError(`pip install of ${pins.length} distributions inside ${base.ref} ${what}.${hint} Last lines of pip:\n${res.tail}`);
    }
    const layer = await writeLayer(store, await entriesOf(out, plan.siteDir), { tmpDir: opts.tmpDir, compression: opts.compression });
    await mkdir(dirname(indexFile), { recursive: true });
    await writeAtomic(indexFile, JSON.stringify(layer));
    return { ...layer, reused: false };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
