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
 *     - trainyard: saveWorkspace (in-process service: collect, hash, stage, build the
 *       dependency + code layers, push with a cross-repo mount of the base layers);
 *     - buildah: `buildah bud --layers` of FROM base / COPY deps / COPY app, then
 *       `buildah push` (flags this sandbox needs: --isolation chroot, --storage-driver
 *       overlay (vfs fallback) on a store of its own, --cgroup-manager cgroupfs, runc);
 *     - skopeo + umoci: skopeo copy of the base into an OCI layout, `umoci insert` of the
 *       deps dir and the workspace, `skopeo copy` to the registry;
 *     - floor: hash (sha256), gzip (level 6) and upload the same bytes once, as one tar
 *       blob, monolithic PUT to the same registry.
 *     Trainyard's client caches (file hashes, the captured environment) start empty too.
 * (b) re-save after editing one source file (each tool with its own caches warm).
 * Each contender: cold once per rep, re-save REPS times; medians. Under ~5 minutes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, createReadStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ensureBaseImage } from '../test/components/base-image';
import { registryAvailable, startRegistry, type RegistryHandle } from '../test/components/registry';
import { harness } from '../backend/test/snapshots/helpers';
import { RegistryStore } from '../backend/src/images/registry-store';
import { parseRegistryUrl } from '../backend/src/images/registry/reference';
import { median, ms, printRatios, prng, ratio, step, table } from './lib';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const COLD_REPS = Number(process.env.BENCH_COLD_REPS ?? 2);
const DEP_MB = Number(process.env.BENCH_DEP_MB ?? 50);

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

/** a venv of /usr/bin/python3 with benchdep 1.0.0 (DEP_MB x 1 MiB random files), installed as a wheel would */
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

/** the floor: one tar of every byte, sha256 + gzip + sha256, one monolithic PUT */
async function floor(reg: RegistryHandle, roots: string[], repo: string): Promise<void> {
  const pack = tar.pack();
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      gzHash.update(c);
      chunks.push(c);
      cb();
    },
  });
  const gz = createGzip({ level: 6 });
  const done = pipeline(pack, async function* (src) {
    for await (const c of src) {
      tarHash.update(c as Buffer);
      yield c;
    }
  }, gz, sink);
  for (const root of roots) {
    for (const f of filesUnder(root)) {
      const size = statSync(f).size;
      await new Promise<void>((res, rej) => {
        const e = pack.entry({ name: relative('/', f), size, mtime: new Date(0) }, (err) => (err ? rej(err) : res()));
        createReadStream(f).pipe(e);
      });
    }
  }
  pack.finalize();
  await done;
  const body = Buffer.concat(chunks);
  const digest = `sha256:${gzHash.digest('hex')}`;
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(start.headers.get('location')!, reg.url);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`floor upload: ${put.status}`);
}

function buildahFlags(root: string, driver: string): string[] {
  return [`--root=${join(root, 'storage')}`, `--runroot=${join(root, 'run')}`, `--storage-driver=${driver}`, '--cgroup-manager=cgroupfs'];
}

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
    const { python, site } = await step(`generate the workspace (200 files) and a ${DEP_MB} MB dependency venv`, async () => makeVenv(join(work, 'venv')));
    const depDir = join(site); // what buildah/umoci copy: the distribution's files
    let edit = 0;
    const editOne = () => appendFileSync(join(ws, 'src', 'pkg3', 'mod3.py'), `# edit ${++edit}\n`);
    const results: Record<string, { cold: number[]; resave: number[] }> = {};
    const rec = (who: string, k: 'cold' | 'resave', t: number) => ((results[who] ??= { cold: [], resave: [] })[k].push(t));

    // floor
    for (let i = 0; i < COLD_REPS; i++) rec('floor', 'cold', await timed(() => floor(reg, [ws, depDir], `floor/r${i}`)));

    // trainyard
    for (let i = 0; i < COLD_REPS; i++) {
      const h = await harness('sqlite', 64 << 20, { images: (dir) => new RegistryStore(parseRegistryUrl(`${reg.url}/ty${i}`), join(dir, 'image-cache')) });
      try {
        // the client's hash and environment caches live in the fresh data dir: a cold save starts without them
        const cacheDir = join(h.dir, 'client-cache');
        rec('trainyard', 'cold', await timed(() => saveWorkspace(h.client, { dir: ws, model: 'bench', version: `c${i}`, baseImage: base, python, cacheDir })));
        if (i === COLD_REPS - 1) {
          for (let r = 0; r < REPS; r++) {
            editOne();
            rec('trainyard', 'resave', await timed(() => saveWorkspace(h.client, { dir: ws, model: 'bench', version: `r${i}-${r}`, baseImage: base, python, cacheDir })));
          }
        }
      } finally {
        await h.close();
      }
    }

    // buildah
    const ctxDir = join(work, 'buildah-ctx');
    mkdirSync(ctxDir);
    cpSync(depDir, join(ctxDir, 'deps'), { recursive: true });
    writeFileSync(join(ctxDir, 'Containerfile'), `FROM docker://${base}\nCOPY deps/ /usr/local/lib/python3.11/dist-packages/\nCOPY app/ /app/\n`);
    let driver = 'overlay';
    for (let i = 0; i < COLD_REPS; i++) {
      const root = join(work, `buildah${i}`);
      let flags = buildahFlags(root, driver);
      // the build context holds the workspace (refreshed before each timed build, outside the timing)
      const prep = () => {
        rmSync(join(ctxDir, 'app'), { recursive: true, force: true });
        cpSync(ws, join(ctxDir, 'app'), { recursive: true });
      };
      const build = async (tag: string) => {
        await sh('buildah', [...flags, 'bud', '-q', '--layers', '--isolation', 'chroot', '--runtime', 'runc', '--tls-verify=false', '-t', `bench:${tag}`, '-f', join(ctxDir, 'Containerfile'), ctxDir]);
        await sh('buildah', [...flags, 'push', '-q', '--tls-verify=false', `bench:${tag}`, `docker://${reg.host}/buildah${i}/bench:${tag}`]);
      };
      let t: number;
      prep();
      try {
        t = await timed(() => build('c'));
      } catch (err) {
        if (driver !== 'overlay') throw err;
        console.log(`buildah with overlay failed (${(err as Error).message.slice(0, 200)}); using vfs`);
        driver = 'vfs';
        rmSync(root, { recursive: true, force: true });
        flags = buildahFlags(root, driver);
        t = await timed(() => build('c'));
      }
      rec(`buildah (${driver})`, 'cold', t);
      if (i === COLD_REPS - 1) {
        for (let r = 0; r < REPS; r++) {
          editOne();
          prep();
          rec(`buildah (${driver})`, 'resave', await timed(() => build(`r${r}`)));
        }
      }
      await sh('buildah', [...flags, 'rmi', '-a', '-f']).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    }

    // skopeo + umoci
    for (let i = 0; i < COLD_REPS; i++) {
      const layout = join(work, `umoci${i}`);
      rec('skopeo+umoci', 'cold', await timed(async () => {
        await sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${base}`, `oci:${layout}:base`]);
        await sh('umoci', ['insert', '--image', `${layout}:base`, '--tag', 'deps', depDir, '/usr/local/lib/python3.11/dist-packages']);
        await sh('umoci', ['insert', '--image', `${layout}:deps`, '--tag', 'app', ws, '/app']);
        await sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${reg.host}/umoci${i}/bench:c`]);
      }));
      if (i === COLD_REPS - 1) {
        for (let r = 0; r < REPS; r++) {
          editOne();
          rec('skopeo+umoci', 'resave', await timed(async () => {
            await sh('umoci', ['insert', '--image', `${layout}:deps`, '--tag', `app${r}`, ws, '/app']);
            await sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:app${r}`, `docker://${reg.host}/umoci${i}/bench:r${r}`]);
          }));
        }
      }
    }

    const rows = Object.entries(results).map(([who, r]) => ({
      contender: who,
      'cold ms (median)': r.cold.length ? ms(median(r.cold)) : '-',
      'cold runs': r.cold.map(ms).join(' '),
      're-save ms (median)': r.resave.length ? ms(median(r.resave)) : '-',
      're-save runs': r.resave.map(ms).join(' '),
    }));
    table(`Save: 200 source files + ${DEP_MB} MB dependency delta, to a local registry (${COLD_REPS} cold, ${REPS} re-saves)`, rows);
    const ty = results.trainyard;
    const bh = Object.entries(results).find(([k]) => k.startsWith('buildah'))![1];
    const um = results['skopeo+umoci'];
    const fl = results.floor;
    ratio('save-resave', 'buildah/trainyard', median(bh.resave) / median(ty.resave));
    ratio('save-resave', 'skopeo+umoci/trainyard', median(um.resave) / median(ty.resave));
    ratio('save-cold', 'buildah/trainyard', median(bh.cold) / median(ty.cold));
    ratio('save-cold', 'skopeo+umoci/trainyard', median(um.cold) / median(ty.cold));
    ratio('save-cold', 'trainyard/floor', median(ty.cold) / median(fl.cold));
    console.log(`\ntargets: re-save ${ms(median(ty.resave))} ms (target < 300 ms: ${median(ty.resave) < 300 ? 'met' : 'NOT met'}); ` +
      `re-save vs buildah ${(median(bh.resave) / median(ty.resave)).toFixed(1)}x (target >= 5x: ${median(bh.resave) / median(ty.resave) >= 5 ? 'met' : 'NOT met'}); ` +
      `cold vs floor ${(median(ty.cold) / median(fl.cold)).toFixed(2)}x (target <= 1.5x: ${median(ty.cold) / median(fl.cold) <= 1.5 ? 'met' : 'NOT met'})`);
    printRatios();
  } finally {
    await reg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
