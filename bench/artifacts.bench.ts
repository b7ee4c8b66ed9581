/**
 * Run artifacts: the backend keeping a run's output directory in a registry vs. `oras push` of the
 * same files to the same registry, in the same run.
 *
 * Input: 200 small text files (1-8 KiB, seeded) and one BENCH_BIG_MB (default 500) MB file of
 * AES-CTR keystream (not zeros, not compressible), written once into
 * ~/.cache/trainyard/bench-artifacts and reused.
 *
 * Registry: Debian's docker-registry on loopback (test/components/registry.ts), one for the bench;
 * every rep pushes into repositories of its own.
 * - trainyard: a backend (startTestBackend, images.registry on that registry, a fresh data home
 *   per rep, so its blob cache starts empty) keeps the directory as run R1's artifacts with its own
 *   ArtifactsService.collect — what the local executor calls when a run ends: scan, hash every file,
 *   push each one from the directory (8 at a time), then the tagged manifest, record the rows.
 *   Then run R2 with the same, unchanged files (the re-push: the service knows their hashes, the
 *   registry has the blobs), and run R3 over a copy (the same bytes in new files, as a new run
 *   writing identical outputs: hashed again, nothing uploaded). The backend's stages are timed;
 *   peak RSS is sampled every 20 ms during each collect.
 * - oras: `oras push --plain-http` of the same 201 files (one raw layer each, titled by path, the
 *   same artifact type) to a tag, then again to a second tag (its re-push).
 * BENCH_REPS reps (default 2), the order of the two alternating; medians.
 */
import { createCipheriv } from 'node:crypto';
import { execFile } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { once } from 'node:events';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { watchStages } from '@trainyard/shared/snapshot/stages';
import { ArtifactsService } from '../backend/src/artifacts/service';
import { getOutputs } from '../backend/src/artifacts/store';
import { DEFAULT_HARDWARE } from '../backend/src/config';
import { newId } from '../backend/src/ids';
import { insertLaunch, pendingRunRow } from '../backend/src/runs/store';
import { orasBin } from '../test/components/oras';
import { registryAvailable, startRegistry, type RegistryHandle } from '../test/components/registry';
import { REPO, removeHome, startTestBackend, type TestBackend } from '../test/helpers/backend';
import { median, ms, printRatios, prng, ratio, step, table } from './lib';

const REPS = Number(process.env.BENCH_REPS ?? 2);
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 500);
const SMALL = 200;
const ARTIFACT_TYPE = 'application/vnd.trainyard.run-output.v1';
const MiB = 1 << 20;

/** the input directory, written once (a .complete marker says it is whole) */
async function inputDir(): Promise<string> {
  const cache = process.env.TRAINYARD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'trainyard');
  const root = join(cache, 'bench-artifacts', `small${SMALL}-big${BIG_MB}mb`);
  const dir = join(root, 'files');
  if (existsSync(join(root, '.complete'))) return dir;
  const tmp = `${root}.tmp/files`;
  rmSync(root, { recursive: true, force: true });
  rmSync(`${root}.tmp`, { recursive: true, force: true });
  const rnd = prng(7);
  for (let i = 0; i < SMALL; i++) {
    const sub = join(tmp, 'logs', `shard-${i % 8}`);
    mkdirSync(sub, { recursive: true });
    const lines: string[] = [];
    const want = 1024 + Math.floor(rnd() * 7 * 1024);
    for (let n = 0; n < want; ) {
      const l = `step ${lines.length} loss ${rnd().toFixed(6)} acc ${rnd().toFixed(6)}\n`;
      lines.push(l);
      n += l.length;
    }
    writeFileSync(join(sub, `metrics-${String(i).padStart(3, '0')}.txt`), lines.join(''));
  }
  // AES-128-CTR keystream over zeros: seeded pseudo-random bytes at GB/s
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const out = createWriteStream(join(tmp, 'model.bin'));
  const zeros = Buffer.alloc(MiB);
  const total = BIG_MB * 1_000_000;
  for (let i = 0; i < Math.floor(total / MiB); i++) {
    if (!out.write(cipher.update(zeros))) await once(out, 'drain');
  }
  out.end(cipher.update(zeros.subarray(0, total % MiB)));
  await once(out, 'finish');
  writeFileSync(join(tmp, '..', '.complete'), '');
  renameSync(`${root}.tmp`, root);
  return dir;
}

/** the files under dir, relative, sorted */
function filesOf(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesOf(p, base));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out.sort();
}

function sh(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 20 * 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.slice(0, 5).join(' ')}…: ${stderr.trim().split('\n').slice(-5).join(' | ') || err.message}`)) : resolve(stdout),
    );
  });
}

/** peak RSS (MiB) while fn runs, sampled every 20 ms */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ out: T; ms: number; cpuMs: number; peakMiB: number; baseMiB: number }> {
  const cpu = process.cpuUsage();
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const t = performance.now();
  try {
    const out = await fn();
    const took = performance.now() - t;
    peak = Math.max(peak, process.memoryUsage.rss());
    const used = process.cpuUsage(cpu);
    return { out, ms: took, cpuMs: (used.user + used.system) / 1000, peakMiB: peak / MiB, baseMiB: base / MiB };
  } finally {
    clearInterval(timer);
  }
}

interface TyResult {
  first: number;
  /** CPU time (user + system) of the backend's process during the first collect */
  firstCpu: number;
  again: number;
  sameBytes: number;
  peakMiB: number;
  baseMiB: number;
  stages: Record<string, number>;
}

async function trainyardRep(reg: RegistryHandle, dir: string, rep: number, fileCount: number): Promise<TyResult> {
  const b: TestBackend = await startTestBackend({ images: { registry: `${reg.url}/ty${rep}` }, executor: { local: { podman: 'never' } } });
  try {
    const model = 'outputs';
    await saveWorkspace(b.client, { dir: join(REPO, 'test/fixtures/outputs'), model, version: 'v1', cacheDir: false });
    const ctx = b.server.ctx;
    const newRun = async () => {
      const id = newId('run');
      const row = pendingRunRow({
        id, model, version: 'v1', entrypoint: 'train', command: 'python train.py', params: { bench: rep }, profile: DEFAULT_HARDWARE[0], maxDurationSeconds: 600,
        sweepId: null, sweepIndex: null, scheduleId: null, reason: 'artifacts bench', executor: 'local', executorRef: null,
        createdBy: 'bench', createdAt: new Date().toISOString(), estimatedCost: 0, inputRunId: null,
      });
      // ended as the local executor records a run before it keeps its outputs
      await insertLaunch(ctx.db, { key: null, hash: 'bench', sweep: null, rows: [{ ...row, status: 'Succeeded', finished_at: new Date().toISOString() }] });
      return id;
    };
    const artifacts = new ArtifactsService(ctx);
    const stages: Record<string, number> = {};
    const stop = watchStages((s) => (stages[s.stage] = (stages[s.stage] ?? 0) + s.ms));
    const keep = async (from: string) => {
      const runId = await newRun();
      const r = await withPeakRss(() => artifacts.collect({ runId, model, version: 'v1', entrypoint: 'train', params: { bench: rep } }, from));
      const rec = await getOutputs(ctx.db, runId);
      if (rec?.state !== 'stored' || rec.files.length !== fileCount) throw new Error(`run ${runId}: artifacts ${rec?.state} with ${rec?.files.length} files (${r.out ?? rec?.note})`);
      return r;
    };
    const first = await keep(dir);
    stop();
    const again = await keep(dir);
    // a new run that wrote the same bytes: new files (new inodes), so each is hashed again
    const copy = join(b.home, 'copy');
    cpSync(dir, copy, { recursive: true });
    const sameBytes = await keep(copy);
    return { first: first.ms, firstCpu: first.cpuMs, again: again.ms, sameBytes: sameBytes.ms, peakMiB: Math.max(first.peakMiB, again.peakMiB, sameBytes.peakMiB), baseMiB: first.baseMiB, stages };
  } finally {
    await b.close();
    removeHome(b.home);
  }
}

async function orasRep(reg: RegistryHandle, dir: string, files: string[], rep: number): Promise<{ first: number; firstCpu: number; again: number }> {
  const cpuFile = join(dir, '..', `oras-cpu-${process.pid}`);
  const push = async (tag: string) => {
    const t = performance.now();
    await sh('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, orasBin(), 'push', '--plain-http', '--no-tty', '--artifact-type', ARTIFACT_TYPE, `${reg.host}/oras${rep}/outputs:${tag}`, ...files], dir);
    const took = performance.now() - t;
    const [user, sys] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    rmSync(cpuFile, { force: true });
    return { took, cpu: (user + sys) * 1000 };
  };
  const first = await push('run-1');
  const again = await push('run-2');
  return { first: first.took, firstCpu: first.cpu, again: again.took };
}

async function main(): Promise<void> {
  if (!registryAvailable()) throw new Error('docker-registry is missing (apt-get install docker-registry)');
  await step('oras ready', async () => orasBin());
  const dir = await step(`input: ${SMALL} small files + one ${BIG_MB} MB file (cached)`, inputDir);
  const files = filesOf(dir);
  const reg = await startRegistry();
  const ty: TyResult[] = [];
  const or: Array<{ first: number; firstCpu: number; again: number }> = [];
  try {
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? ['trainyard', 'oras'] : ['oras', 'trainyard'];
      for (const who of order) {
        if (who === 'trainyard') ty.push(await trainyardRep(reg, dir, rep, files.length));
        else or.push(await orasRep(reg, dir, files, rep));
      }
      console.log(`rep ${rep + 1}: trainyard ${ms(ty[rep].first)} ms (re-push ${ms(ty[rep].again)}, same bytes in new files ${ms(ty[rep].sameBytes)}), oras ${ms(or[rep].first)} ms (re-push ${ms(or[rep].again)})`);
    }
  } finally {
    await reg.stop();
  }
  const tyFirst = median(ty.map((r) => r.first));
  const tyAgain = median(ty.map((r) => r.again));
  const tySame = median(ty.map((r) => r.sameBytes));
  const orFirst = median(or.map((r) => r.first));
  const orAgain = median(or.map((r) => r.again));
  const mb = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0) / 1e6;
  table(`push ${files.length} files (~${mb.toFixed(0)} MB) into docker-registry, median of ${REPS}`, [
    { contender: 'trainyard (collect + push)', 'first ms': ms(tyFirst), 'first CPU ms': ms(median(ty.map((r) => r.firstCpu))), 'MB/s': (mb / (tyFirst / 1000)).toFixed(0), 're-push ms': ms(tyAgain), 'same bytes, new files ms': ms(tySame) },
    { contender: 'oras push --plain-http', 'first ms': ms(orFirst), 'first CPU ms': ms(median(or.map((r) => r.firstCpu))), 'MB/s': (mb / (orFirst / 1000)).toFixed(0), 're-push ms': ms(orAgain), 'same bytes, new files ms': '-' },
  ]);
  const stageRows = Object.entries(ty[ty.length - 1].stages).map(([stage, t]) => ({ stage, ms: ms(t) }));
  table('trainyard first push, backend stages (last rep; push blobs/manifest are within store and push)', stageRows);
  const peak = Math.max(...ty.map((r) => r.peakMiB));
  table('backend memory during collect', [
    { what: 'RSS before', MiB: ty[0].baseMiB.toFixed(0) },
    { what: 'peak RSS (sampled, 20 ms)', MiB: peak.toFixed(0) },
    { what: 'process maxRSS', MiB: (process.resourceUsage().maxRSS / 1024).toFixed(0) },
  ]);
  ratio('artifacts-push', 'trainyard/oras (target <= 1.3)', tyFirst / orFirst);
  ratio('artifacts-repush', 'first/re-push (target >= 10)', tyFirst / tyAgain);
  ratio('artifacts-samebytes', 'first/new run with the same bytes (hashed again, nothing uploaded)', tyFirst / tySame);
  ratio('artifacts-repush-oras', 'oras first/re-push', orFirst / orAgain);
  printRatios();
}

await main();
