/**
 * Save Model: Trainyard's save vs. buildah and vs. skopeo + umoci, on the same input,
 * pushing to the same local registry (Debian docker-registry, test/components/registry.ts).
 *
 * Input (seeded): a workspace of 200 small source files (+ train.py) and a 50 MB
 * dependency delta: a fake installed distribution `benchdep 1.0.0` (50 x 1 MiB
 * incompressible files + dist-info with RECORD) in a venv of /usr/bin/python3, so the
 * copy strategy applies on the Debian+python3 base (ensureBaseImage), which is pushed
 * to the registry once as the base image.
 *
 * (a) cold save: nothing cached (fresh Trainyard data dir / fresh buildah storage /
 *     fresh OCI layout), registry holds only the base.
 *     - trainyard (in-process): saveWorkspace against a SnapshotsService of its own in this
 *       process, as the embedded default runs (collect, hash, the backend reads the files in
 *       place, scan the base, build the dependency + code layers while pushing them, mount the
 *       base layers); its stages are timed (shared/src/snapshot/stages.ts). Each cold run has a
 *       new service and image store, so it scans the base as a fresh backend does;
 *     - trainyard (CLI): `trainyard save` (backend/dist/trainyard.mjs) from process start
 *       to exit, against a `trainyard serve` of its own (HTTP on loopback, same registry);
 *     - buildah: `buildah bud --layers` of FROM base / COPY deps / COPY app, then
 *       `buildah push` (flags this sandbox needs: --isolation chroot, --storage-driver
 *       overlay (vfs fallback) on a store of its own, --cgroup-manager cgroupfs, runc);
 *     - skopeo + umoci: skopeo copy of the base into an OCI layout, `umoci insert` of the
 *       deps dir and the workspace, `skopeo copy` to the registry;
 *     - skopeo's and buildah's cold builds each with a blob info cache of their own (withOwnBlobInfoCache);
 *     - floor, each part alone: read every byte; compress them at the configured setting on
 *       all cores; one monolithic upload of the result to the registry. The sum is printed.
 *     Trainyard's client caches (file hashes, the captured environment) start empty too.
 * (b) re-save after editing one source file (each tool with its own caches warm).
 * Each contender: cold once per rep, re-save REPS times; medians. Each cold save's CPU time is summed over
 * every process it involves (its children, the registry, the CLI's server; the in-process save's own process)
 * and printed next to its wall time (on N cores a save takes at least its CPU time / N), and process by
 * process. The contenders take turns rep by rep (in-process, skopeo + umoci, CLI, buildah), so load from other work on the machine falls on
 * all of them alike; the workspace and the venv are left to settle (RACY_MS) before the first save. Peak RSS: this process
 * (in-process saves), and the CLI and server processes. BENCH_COMPRESSION=gzip:1|zstd|…
 * sets images.compression for Trainyard and the floor. BENCH_ENV_FILES=20000 adds a distribution of
 * that many small files to the environment (a real one's shape: numpy, pandas, torch have tens of thousands).
 * BENCH_CLI_NODE_ARGS (space-separated) go to the CLI's and the server's node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { watchStages, type StageTiming } from '@trainyard/shared/snapshot/stages';
import { RACY_MS } from '@trainyard/shared/snapshot/hash-cache';
import { ensureBaseImage } from '../test/components/base-image';
import { registryAvailable, startRegistry, type RegistryHandle } from '../test/components/registry';
import { CLI, freePort } from '../test/helpers/backend';
import { harness } from '../backend/test/snapshots/helpers';
import { RegistryStore } from '../backend/src/images/registry-store';
import { parseRegistryUrl } from '../backend/src/images/registry/reference';
import { compressionName, compressStream, DEFAULT_COMPRESSION, parseCompression } from '../backend/src/images/compression';
import { median, ms, printRatios, prng, ratio, step, table } from './lib';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const COLD_REPS = Number(process.env.BENCH_COLD_REPS ?? 2);
const DEP_MB = Number(process.env.BENCH_DEP_MB ?? 50);
/** BENCH_ENV_FILES=20000: the environment also holds a distribution of that many small files */
const ENV_FILES = Number(process.env.BENCH_ENV_FILES ?? 0);
const COMPRESSION = process.env.BENCH_COMPRESSION ? parseCompression(process.env.BENCH_COMPRESSION) : DEFAULT_COMPRESSION;
const NODE_ARGS = (process.env.BENCH_CLI_NODE_ARGS ?? '').split(' ').filter(Boolean);

function sh(cmd: string, args: string[], timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.slice(0, 6).join(' ')}…: ${stderr.trim().split('\n').slice(-5).join(' | ') || err.message}`)) : resolve(stdout),
    );
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function makeWorkspace(dir: string): void {
  const rnd = prng(42);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train.py'), 'import benchdep\nprint("train")\n');
  for (let i = 0; i < 200; i++) {
    const sub = join(dir, 'src', `pkg${i % 10}`);
    mkdirSync(sub, { recursive: true });
    const lines = Array.from({ length: 40 + Math.floor(rnd() * 40) }, (_, j) => `def f${j}(x):\n    return x * ${Math.floor(rnd() * 1e6)}\n`);
    writeFileSync(join(sub, `mod${i}.py`), lines.join(''));
  }
}

/** a venv of /usr/bin/python3 with benchdep 1.0.0 (DEP_MB x 1 MiB random files), installed as a wheel would (and manydep 2.0 of ENV_FILES small files) */
function makeVenv(dir: string): { python: string; site: string } {
  execFileSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', dir]);
  const site = join(dir, 'lib', 'python3.11', 'site-packages');
  const rnd = prng(7);
  const record: string[] = [];
  const put = (p: string, data: Buffer) => {
    mkdirSync(join(site, p, '..'), { recursive: true });
    writeFileSync(join(site, p), data);
    record.push(`${p},sha256=${createHash('sha256').update(data).digest('base64url')},${data.length}`);
  };
  put('benchdep/__init__.py', Buffer.from('VERSION = "1.0.0"\n'));
  for (let i = 0; i < DEP_MB; i++) {
    const b = Buffer.alloc(1 << 20);
    for (let j = 0; j < b.length; j += 4) b.writeUInt32LE(Math.floor(rnd() * 2 ** 32), j);
    put(`benchdep/data/blob${i}.bin`, b);
  }
  put('benchdep-1.0.0.dist-info/METADATA', Buffer.from('Metadata-Version: 2.1\nName: benchdep\nVersion: 1.0.0\n'));
  put('benchdep-1.0.0.dist-info/WHEEL', Buffer.from('Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n'));
  record.push('benchdep-1.0.0.dist-info/RECORD,,');
  writeFileSync(join(site, 'benchdep-1.0.0.dist-info', 'RECORD'), `${record.join('\n')}\n`);
  if (ENV_FILES > 0) {
    // a second distribution of many small source files: the shape of a real environment (numpy, pandas, torch: tens of thousands)
    const many: string[] = [];
    for (let i = 0; i < ENV_FILES; i++) {
      const p = `manydep/m${i % 100}/f${i}.py`;
      mkdirSync(join(site, 'manydep', `m${i % 100}`), { recursive: true });
      const data = Buffer.from(`def f${i}(x):\n    return x * ${Math.floor(rnd() * 1e6)}\n`.repeat(1 + (i % 12)));
      writeFileSync(join(site, p), data);
      many.push(`${p},sha256=${createHash('sha256').update(data).digest('base64url')},${data.length}`);
    }
    mkdirSync(join(site, 'manydep-2.0.dist-info'));
    writeFileSync(join(site, 'manydep-2.0.dist-info', 'METADATA'), 'Metadata-Version: 2.1\nName: manydep\nVersion: 2.0\n');
    many.push('manydep-2.0.dist-info/METADATA,,', 'manydep-2.0.dist-info/RECORD,,');
    writeFileSync(join(site, 'manydep-2.0.dist-info', 'RECORD'), `${many.join('\n')}\n`);
  }
  return { python: join(dir, 'bin', 'python'), site };
}

function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  walk(root);
  return out.sort();
}

/** the bytes of every file under `roots`, read once, in order (the floor's read stage) */
async function readAll(roots: string[]): Promise<{ bytes: number; chunks: Buffer[] }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for (const root of roots) {
    for (const f of filesUnder(root)) {
      const b = await readFile(f);
      chunks.push(b);
      bytes += b.length;
    }
  }
  return { bytes, chunks };
}

/**
 * The floor, each part alone: read every byte of the workspace and the dependency delta;
 * compress them with the layer compressor at the configured setting on all cores; upload
 * the compressed bytes to the loopback registry (one monolithic PUT). Their sum is the least
 * any tool doing this job can take on this machine (it writes no tar and hashes nothing).
 */
async function floor(reg: RegistryHandle, roots: string[], repo: string): Promise<{ read: number; compress: number; upload: number }> {
  let t = performance.now();
  const { chunks } = await readAll(roots);
  const read = performance.now() - t;
  t = performance.now();
  const out: Buffer[] = [];
  for await (const c of compressStream(Readable.from(chunks), COMPRESSION, availableParallelism())) out.push(...c);
  const compress = performance.now() - t;
  const body = Buffer.concat(out);
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  t = performance.now();
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(start.headers.get('location')!, reg.url);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`floor upload: ${put.status}`);
  const upload = performance.now() - t;
  return { read, compress, upload };
}

/**
 * skopeo and buildah (containers/image) remember where they have seen each blob in a machine-wide
 * blob info cache (/var/lib/containers/cache for root) and mount a layer from any repository that
 * had it: a later cold rep would mount the dependency layer an earlier rep pushed, and not be cold.
 * Their cold builds run with a cache of their own (a private mount namespace binds `dir` there),
 * so a cold build learns only what it pulled itself (the base). skopeo's re-saves run as they are
 * (the destination already has every old blob); buildah's keep the rep's cache.
 */
const BLOB_INFO_CACHE = '/var/lib/containers/cache';
function withOwnBlobInfoCache(dir: string, cmd: string, args: string[]): [string, string[]] {
  mkdirSync(dir, { recursive: true });
  mkdirSync(BLOB_INFO_CACHE, { recursive: true });
  return ['unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount --bind "$0" ${BLOB_INFO_CACHE} && exec "$@"`, dir, cmd, ...args]];
}

function buildahFlags(root: string, driver: string): string[] {
  return [`--root=${join(root, 'storage')}`, `--runroot=${join(root, 'run')}`, `--storage-driver=${driver}`, '--cgroup-manager=cgroupfs'];
}

/** peak resident set of a live process, MiB (VmHWM) */
function peakRssOf(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
/** CPU time (user + system, ms) of a live process */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}
/** CPU time of the children this process has waited for (and of theirs), ms */
function waitedChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
}
/**
 * The CPU time a cold save costs every process it involves, by part: `children`, what it ran
 * (skopeo, umoci, buildah, the CLI with the environment's python); each of `pids` by its name (the
 * registry, `trainyard serve`); and with `self`, this process (the in-process save). Call the
 * result when the save is done.
 */
type CpuParts = Record<string, number>;
function cpuMeter(pids: Record<string, number>, self: boolean): () => CpuParts {
  const read = (): CpuParts => {
    const u = process.cpuUsage();
    return {
      ...(self ? { 'this process': (u.user + u.system) / 1000 } : {}),
      children: waitedChildrenCpuMs(),
      ...Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsOf(pid)])),
    };
  };
  const start = read();
  return () => Object.fromEntries(Object.entries(read()).map(([k, v]) => [k, v - start[k]]));
}
const cpuTotal = (parts: CpuParts) => Object.values(parts).reduce((n, v) => n + v, 0);

/** `trainyard serve` of its own (data home `home`, images in `registry`), until stop() */
async function startServe(home: string, registry: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  mkdirSync(home, { recursive: true });
  const port = await freePort();
  const file = join(home, 'trainyard.yaml');
  writeFileSync(file, JSON.stringify({ server: { host: '127.0.0.1', port }, images: { registry, compression: compressionName(COMPRESSION) } }));
  const child = spawn(process.execPath, [...NODE_ARGS, CLI, 'serve', '--config', file], { env: { ...process.env, TRAINYARD_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-2000)));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    if (child.exitCode !== null) throw new Error(`trainyard serve exited: ${log}`);
    if (Date.now() > deadline) throw new Error(`trainyard serve did not answer in 30 s: ${log}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    child,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** one `trainyard save`, process start to exit: [wall ms, peak RSS MiB] */
async function cliSave(env: NodeJS.ProcessEnv, args: string[]): Promise<[number, number]> {
  const rssFile = join(env.TRAINYARD_HOME!, `rss-${Date.now()}`);
  const t = performance.now();
  await new Promise<void>((resolve, reject) =>
    execFile('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, ...NODE_ARGS, CLI, 'save', ...args, '--json'], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, _out, stderr) =>
      err ? reject(new Error(`trainyard save: ${stderr.trim().split('\n').slice(-3).join(' | ') || err.message}`)) : resolve(),
    ),
  );
  const wall = performance.now() - t;
  return [wall, Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024];
}

type Results = Record<string, { cold: number[]; resave: number[]; coldCpu?: CpuParts[] }>;

async function main(): Promise<void> {
  if (!registryAvailable()) throw new Error('docker-registry is not installed (apt-get install docker-registry)');
  const work = mkdtempSync(join(tmpdir(), 'ty-save-bench-'));
  const reg = await startRegistry();
  try {
    const baseDir = await step('base image (ensureBaseImage)', ensureBaseImage);
    const base = `${reg.host}/base/debian-python3:latest`;
    await step('push the base to the registry (skopeo)', () => sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${baseDir}:latest`, `docker://${base}`]));
    const ws = join(work, 'ws');
    makeWorkspace(ws);
    const { python, site } = await step(`generate the workspace (200 files) and a ${DEP_MB} MB dependency venv${ENV_FILES ? ` with ${ENV_FILES} more small files` : ''}`, async () => makeVenv(join(work, 'venv')));
    const depDir = join(site); // what buildah/umoci copy: the distribution's files
    // a user's workspace and environment were written a while before they save: their files have
    // settled (hash-cache.ts RACY_MS), so stat keys may vouch for them as they do in real use
    await new Promise((r) => setTimeout(r, RACY_MS + 100));
    let edit = 0;
    const editOne = () => appendFileSync(join(ws, 'src', 'pkg3', 'mod3.py'), `# edit ${++edit}\n`);
    const results: Results = {};
    const rec = (who: string, k: 'cold' | 'resave', t: number) => ((results[who] ??= { cold: [], resave: [] })[k].push(t));
    const recCpu = (who: string, parts: CpuParts) => ((results[who].coldCpu ??= []).push(parts));
    const rss: Array<[string, number]> = [];
    const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`layer compression: ${compressionName(COMPRESSION)}; ${availableParallelism()} cores, load average ${load()}`);

    // trainyard in-process, stage by stage
    const stages: { cold: Map<string, StageTiming[]>; resave: Map<string, StageTiming[]> } = { cold: new Map(), resave: new Map() };
    let coldStart = 0; // performance.now() when the staged cold save began (the timeline's zero)
    let current: Map<string, StageTiming[]> | null = null;
    const stopWatching = watchStages((t) => {
      if (!current) return;
      const prev = current.get(t.stage) ?? [];
      prev.push(t);
      current.set(t.stage, prev);
    });
    const rssBefore = process.resourceUsage().maxRSS / 1024;
    const inProcessRep = async (i: number) => {
      const h = await harness('sqlite', 64 << 20, { images: (dir) => new RegistryStore(parseRegistryUrl(`${reg.url}/ty${i}`), join(dir, 'image-cache')), localFiles: true });
      h.ctx.config.images.compression = COMPRESSION;
      try {
        // the client's hash and environment caches live in the fresh data dir: a cold save starts without them
        const cacheDir = join(h.dir, 'client-cache');
        const save = (version: string) => saveWorkspace(h.client, { dir: ws, model: 'bench', version, baseImage: base, python, cacheDir });
        current = i === COLD_REPS - 1 ? stages.cold : null;
        if (current) current.clear();
        coldStart = performance.now();
        const cpu = cpuMeter({ registry: reg.pid }, true);
        rec('trainyard (in-process)', 'cold', await timed(() => save(`c${i}`)));
        recCpu('trainyard (in-process)', cpu());
        if (i === COLD_REPS - 1) {
          for (let r = 0; r < REPS; r++) {
            editOne();
            current = new Map();
            rec('trainyard (in-process)', 'resave', await timed(() => save(`r${i}-${r}`)));
            for (const [k, v] of current) stages.resave.set(k, [...(stages.resave.get(k) ?? []), ...v]);
          }
        }
      } finally {
        current = null;
        await h.close();
      }
    };

    // trainyard through the CLI: trainyard save → trainyard serve (HTTP) → registry
    const cliRep = async (i: number) => {
      const home = join(work, `cli-home${i}`);
      const serve = await startServe(home, `${reg.url}/cli${i}`);
      try {
        const env = { TRAINYARD_HOME: home, TRAINYARD_URL: serve.url, XDG_CACHE_HOME: join(home, 'client-cache') };
        const args = (version: string) => [ws, '--model', 'bench', '--version', version, '--base', base, '--python', python];
        const cpu = cpuMeter({ registry: reg.pid, 'trainyard serve': serve.child.pid! }, false);
        const [cold, coldRss] = await cliSave(env, args(`c${i}`));
        rec('trainyard (CLI)', 'cold', cold);
        recCpu('trainyard (CLI)', cpu());
        if (i === COLD_REPS - 1) {
          const peaks = [coldRss];
          for (let r = 0; r < REPS; r++) {
            editOne();
            const [t, p] = await cliSave(env, args(`r${r}`));
            rec('trainyard (CLI)', 'resave', t);
            peaks.push(p);
          }
          rss.push(['trainyard save (CLI process, largest)', Math.max(...peaks)], ['trainyard serve (server process)', peakRssOf(serve.child.pid!)]);
        }
      } finally {
        await serve.stop();
      }
    };

    // buildah
    const ctxDir = join(work, 'buildah-ctx');
    mkdirSync(ctxDir);
    cpSync(depDir, join(ctxDir, 'deps'), { recursive: true });
    writeFileSync(join(ctxDir, 'Containerfile'), `FROM docker://${base}\nCOPY deps/ /usr/local/lib/python3.11/dist-packages/\nCOPY app/ /app/\n`);
    let driver = 'overlay';
    const buildahRep = async (i: number) => {
      const root = join(work, `buildah${i}`);
      let flags = buildahFlags(root, driver);
      // the build context holds the workspace (refreshed before each timed build, outside the timing)
      const prep = () => {
        rmSync(join(ctxDir, 'app'), { recursive: true, force: true });
        cpSync(ws, join(ctxDir, 'app'), { recursive: true });
      };
      const buildah = (args: string[], timeoutMs?: number) => sh(...withOwnBlobInfoCache(join(work, `buildah-blob-info${i}`), 'buildah', args), timeoutMs);
      const build = async (tag: string) => {
        await buildah([...flags, 'bud', '-q', '--layers', '--isolation', 'chroot', '--runtime', 'runc', '--tls-verify=false', '-t', `bench:${tag}`, '-f', join(ctxDir, 'Containerfile'), ctxDir]);
        await buildah([...flags, 'push', '-q', '--tls-verify=false', `bench:${tag}`, `docker://${reg.host}/buildah${i}/bench:${tag}`]);
      };
      let t: number;
      prep();
      let cpu = cpuMeter({ registry: reg.pid }, false);
      try {
        t = await timed(() => build('c'));
      } catch (err) {
        if (driver !== 'overlay') throw err;
        console.log(`buildah with overlay failed (${(err as Error).message.slice(0, 200)}); using vfs`);
        driver = 'vfs';
        rmSync(root, { recursive: true, force: true });
        flags = buildahFlags(root, driver);
        cpu = cpuMeter({ registry: reg.pid }, false);
        t = await timed(() => build('c'));
      }
      rec(`buildah (${driver})`, 'cold', t);
      recCpu(`buildah (${driver})`, cpu());
      if (i === COLD_REPS - 1) {
        for (let r = 0; r < REPS; r++) {
          editOne();
          prep();
          rec(`buildah (${driver})`, 'resave', await timed(() => build(`r${r}`)));
        }
      }
      await buildah([...flags, 'rmi', '-a', '-f']).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    };

    // skopeo + umoci
    const umociRep = async (i: number) => {
      const layout = join(work, `umoci${i}`);
      // cold: a blob info cache of its own; the re-saves run skopeo as is (its wrapper costs a few ms)
      const skopeo = (args: string[]) => sh(...withOwnBlobInfoCache(join(work, `skopeo-blob-info${i}`), 'skopeo', args));
      const cpu = cpuMeter({ registry: reg.pid }, false);
      rec('skopeo+umoci', 'cold', await timed(async () => {
        await skopeo(['copy', '-q', '--src-tls-verify=false', `docker://${base}`, `oci:${layout}:base`]);
        await sh('umoci', ['insert', '--image', `${layout}:base`, '--tag', 'deps', depDir, '/usr/local/lib/python3.11/dist-packages']);
        await sh('umoci', ['insert', '--image', `${layout}:deps`, '--tag', 'app', ws, '/app']);
        await skopeo(['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${reg.host}/umoci${i}/bench:c`]);
      }));
      recCpu('skopeo+umoci', cpu());
      if (i === COLD_REPS - 1) {
        for (let r = 0; r < REPS; r++) {
          editOne();
          rec('skopeo+umoci', 'resave', await timed(async () => {
            await sh('umoci', ['insert', '--image', `${layout}:deps`, '--tag', `app${r}`, ws, '/app']);
            await sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:app${r}`, `docker://${reg.host}/umoci${i}/bench:r${r}`]);
          }));
        }
      }
    };

    // the contenders take turns, rep by rep (the in-process save next to skopeo + umoci), so a
    // change in the machine's load hits every contender alike and the ratios stay comparable
    for (let i = 0; i < COLD_REPS; i++) {
      await inProcessRep(i);
      await umociRep(i);
      await cliRep(i);
      await buildahRep(i);
    }
    stopWatching();
    rss.push([`bench process (in-process saves; ${ms(rssBefore)} MiB before them)`, process.resourceUsage().maxRSS / 1024]);

    // the floor, each part alone
    const floors: Array<{ read: number; compress: number; upload: number }> = [];
    for (let i = 0; i < COLD_REPS; i++) floors.push(await floor(reg, [ws, depDir], `floor/r${i}`));
    const fl = { read: median(floors.map((f) => f.read)), compress: median(floors.map((f) => f.compress)), upload: median(floors.map((f) => f.upload)) };
    const floorMs = fl.read + fl.compress + fl.upload;
    rec('floor (read + compress + upload)', 'cold', floorMs);

    // the compression settings, size against time, on the same bytes (all cores)
    const levelRows: Array<Record<string, string>> = [];
    for (const [what, roots] of [['workspace (text)', [ws]], [`dependency delta (incompressible)`, [depDir]]] as const) {
      const { chunks, bytes } = await readAll([...roots]);
      for (const setting of ['gzip:1', 'gzip:6', 'gzip:9', 'zstd:3']) {
        let out = 0;
        const t = performance.now();
        for await (const c of compressStream(Readable.from(chunks), parseCompression(setting), availableParallelism())) for (const b of c) out += b.length;
        levelRows.push({ input: what, setting, 'MiB in': (bytes / 1048576).toFixed(1), 'ms': ms(performance.now() - t), 'ratio': (out / bytes).toFixed(3) });
      }
    }

    const rows = Object.entries(results).map(([who, r]) => ({
      contender: who,
      'cold ms (median)': r.cold.length ? ms(median(r.cold)) : '-',
      'cold runs': r.cold.map(ms).join(' '),
      're-save ms (median)': r.resave.length ? ms(median(r.resave)) : '-',
      're-save runs': r.resave.map(ms).join(' '),
    }));
    table(`Save: 200 source files + ${DEP_MB} MB dependency delta${ENV_FILES ? ` + ${ENV_FILES} small environment files` : ''}, to a local registry (${COLD_REPS} cold, ${REPS} re-saves; layers ${compressionName(COMPRESSION)})`, rows);
    table(`Floor parts, each alone (median of ${COLD_REPS}; compress on ${availableParallelism()} cores)`, [
      { part: 'read every byte', ms: ms(fl.read) },
      { part: `compress (${compressionName(COMPRESSION)})`, ms: ms(fl.compress) },
      { part: 'upload to the registry', ms: ms(fl.upload) },
      { part: 'sum', ms: ms(floorMs) },
    ]);
    const firstStart = (k: string) => Math.min(1e12, ...(stages.cold.get(k) ?? []).map((x) => x.start ?? 1e12));
    const stageRows = [...new Set([...stages.cold.keys(), ...stages.resave.keys()])].sort((a, b) => firstStart(a) - firstStart(b)).map((k) => {
      const sum = (xs: StageTiming[] | undefined) => (xs ?? []).reduce((n, x) => n + x.ms, 0);
      const bytes = (stages.cold.get(k) ?? []).reduce((n, x) => n + (x.bytes ?? 0), 0);
      const resaves = (stages.resave.get(k) ?? []).length / REPS;
      const cold = stages.cold.get(k) ?? [];
      // a summed stage (compress: pieces that overlap) has no span: only its start, with its layer's
      const span = k.includes('summed') && cold.length ? `${ms(Math.min(...cold.map((x) => (x.start ?? 0) - coldStart)))} -` : cold.length ? `${ms(Math.min(...cold.map((x) => (x.start ?? 0) - coldStart)))} - ${ms(Math.max(...cold.map((x) => (x.start ?? 0) + x.ms - coldStart)))}` : '-';
      return { stage: k, 'cold ms': stages.cold.has(k) ? ms(sum(stages.cold.get(k))) : '-', 'cold from - to (ms after the save began)': span, 'cold MiB': bytes ? (bytes / 1048576).toFixed(1) : '-', 're-save ms (mean)': resaves ? ms(sum(stages.resave.get(k)) / REPS) : '-' };
    });
    // what each cold save cost the machine: on a machine of N cores no save takes less wall time than its CPU time / N
    const cores = availableParallelism();
    table(`CPU time per cold save, every process it involves (user + system, median; the registry's included; ${cores} cores)`, Object.entries(results).filter(([, r]) => r.coldCpu?.length).map(([who, r]) => ({
      contender: who,
      'CPU ms': ms(median(r.coldCpu!.map(cpuTotal))),
      'wall ms': ms(median(r.cold)),
      [`CPU / ${cores} (the least wall time it allows)`]: ms(median(r.coldCpu!.map(cpuTotal)) / cores),
      // children: what the contender ran (skopeo, umoci, buildah; the CLI with the environment's python; the in-process save's python)
      'by process (median of each)': Object.keys(r.coldCpu![0]).map((k) => `${k} ${ms(median(r.coldCpu!.map((p) => p[k])))}`).join(', '),
    })));
    table('Trainyard in-process, stage by stage (stages nest and overlap: "build (backend)" holds the image build and push)', stageRows);
    table('Compression settings (images.compression), each alone on the same bytes', levelRows);
    table('Peak RSS', rss.map(([what, mib]) => ({ process: what, 'MiB': mib.toFixed(0) })));

    const ty = results['trainyard (in-process)'];
    const cli = results['trainyard (CLI)'];
    const bh = Object.entries(results).find(([k]) => k.startsWith('buildah'))![1];
    const um = results['skopeo+umoci'];
    const m = (xs: number[]) => median(xs);
    ratio('save-cold', 'trainyard/skopeo+umoci', m(ty.cold) / m(um.cold));
    ratio('save-cold', 'trainyard-cli/skopeo+umoci', m(cli.cold) / m(um.cold));
    ratio('save-cold', 'buildah/trainyard', m(bh.cold) / m(ty.cold));
    ratio('save-cold', 'trainyard/floor', m(ty.cold) / floorMs);
    ratio('save-resave', 'trainyard/skopeo+umoci', m(ty.resave) / m(um.resave));
    ratio('save-resave', 'trainyard-cli/skopeo+umoci', m(cli.resave) / m(um.resave));
    ratio('save-resave', 'buildah/trainyard', m(bh.resave) / m(ty.resave));
    ratio('save-resave', 'buildah/trainyard-cli', m(bh.resave) / m(cli.resave));
    const goal = (name: string, x: number, ok: boolean) => `${name} ${x.toFixed(2)}x (${ok ? 'met' : 'NOT met'})`;
    console.log(`\ngoals (issue 12): ${[
      goal('cold/skopeo+umoci <= 1.0:', m(ty.cold) / m(um.cold), m(ty.cold) <= m(um.cold)),
      goal('CLI', m(cli.cold) / m(um.cold), m(cli.cold) <= m(um.cold)),
      goal('re-save/skopeo+umoci <= 1.0:', m(ty.resave) / m(um.resave), m(ty.resave) <= m(um.resave)),
      goal('CLI', m(cli.resave) / m(um.resave), m(cli.resave) <= m(um.resave)),
      goal('buildah/re-save >= 8:', m(bh.resave) / m(ty.resave), m(bh.resave) / m(ty.resave) >= 8),
      goal('CLI', m(bh.resave) / m(cli.resave), m(bh.resave) / m(cli.resave) >= 8),
    ].join('; ')}`);
    console.log(`load average at the end: ${load()}`);
    printRatios();
  } finally {
    await reg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
