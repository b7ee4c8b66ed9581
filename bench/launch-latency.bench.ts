/**
 * Time from `POST /v1/runs` to the training process running, for one local run.
 *
 * A workspace whose train.py prints time.time_ns() as its first statement is
 * saved as a version (no base image: the process sandbox, the default on a
 * machine without podman images). Each iteration, sequentially: take the
 * realtime clock right after a millisecond tick, POST /v1/runs, wait for the
 * run to end (its exit file, then the API), read its first stdout line from the API; latency = that
 * timestamp minus the clock before the POST (same clock, two processes).
 *
 * Peer (the floor): Node's child_process.spawn of `python3 train.py` in the
 * workspace, timed the same way, with python3 resolved to the interpreter the
 * executor runs (sys.executable): a pyenv shim on PATH alone costs ~200 ms. To say where the time goes, the executor's
 * own launch path is also timed in-process, without HTTP, store or queue:
 * prepareProcessRun (materialize the image into the run dir, write the
 * python shims) and then spawnWrapper (sh wrapper -> timeout -> sh limits ->
 * sh -c command -> python shim -> python) until python's timestamp.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { removeHome, startTestBackend } from '../test/helpers/backend';
import { DEFAULT_HARDWARE } from '../backend/src/config';
import { prepareProcessRun, resolvePython } from '../backend/src/executors/local/process-sandbox';
import { spawnWrapper } from '../backend/src/executors/local/wrapper';
import { unpackImage } from '../backend/src/images/unpack';
import type { RunSpec } from '../backend/src/executors/executor';
import { median, ms, percentile, printRatios, ratio, sleep, table, tickAlignedNow } from './lib';

const ITER = Number(process.env.BENCH_ITER ?? 20);
const TRAIN_PY = 'import time; print(time.time_ns(), flush=True)\n';

/** ms from t0 (ms since epoch) to a time_ns() line */
const since = (t0: number, nsLine: string) => Number(BigInt(nsLine.trim()) - BigInt(t0) * 1_000_000n) / 1e6;

async function until<T>(fn: () => Promise<T | null> | T | null, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function spawnPeer(python: string, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['train.py'], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`python3 exited with ${code}`))));
  });
}

async function main() {
  const ws = mkdtempSync(join(tmpdir(), 'ty-bench-ws-'));
  writeFileSync(join(ws, 'train.py'), TRAIN_PY);
  const b = await startTestBackend();
  const scratch = mkdtempSync(join(tmpdir(), 'ty-bench-direct-'));
  const api: number[] = [], resp: number[] = [], started: number[] = [];
  const peer: number[] = [], prep: number[] = [], wrap: number[] = [], direct: number[] = [], unpack: number[] = [];
  try {
    const saved = await saveWorkspace(b.client, { dir: ws, model: 'launch-bench', version: 'v1' });
    const python = await resolvePython('python3');
    const spec = (id: string): RunSpec => ({
      id, model: 'launch-bench', version: 'v1', entrypoint: 'train', command: 'python train.py', params: {},
      hardware: DEFAULT_HARDWARE[0], maxDurationSeconds: 600, sweepId: null, parallelism: null,
      image: { ref: saved.version.imageRef, digest: saved.version.digest, baseImage: null },
    });
    const materialize = (s: RunSpec, dest: string) => unpackImage(b.server.ctx.images, s.model, s.version, dest);

    for (let i = 0; i <= ITER; i++) {
      const keep = i > 0; // iteration 0 warms up (python probe, JIT, page cache)
      // 1. the API, end to end
      let t0 = tickAlignedNow();
      const res = await b.client.launch({ model: 'launch-bench' });
      const tResp = performance.timeOrigin + performance.now() - t0;
      const id = res.runs[0].id;
      // wait on the run dir's exit file first: polling the API now would compete with the launch for the event loop
      await until(() => (existsSync(join(b.home, 'runs', id, 'exit')) ? true : null), `run ${id} to exit`);
      const run = await until(async () => {
        const r = await b.client.getRun(id);
        return ['Succeeded', 'Failed', 'Cancelled'].includes(r.status) ? r : null;
      }, `run ${id}`);
      if (run.status !== 'Succeeded') throw new Error(`run ${id} ${run.status}: ${run.reason}`);
      const first = (await b.client.getLogs(id)).lines.find((l) => l.stream === 'stdout')!.text;
      if (keep) api.push(since(t0, first)), resp.push(tResp), started.push(Date.parse(run.startedAt!) - t0);

      // 2. the peer: spawn the same interpreter directly
      t0 = tickAlignedNow();
      const out = await spawnPeer(python, ws);
      if (keep) peer.push(since(t0, out));

      // 3. the executor's launch path in-process: prepare, then the wrapper chain
      const dir = join(scratch, `run${i}`);
      mkdirSync(join(dir, 'output'), { recursive: true });
      t0 = tickAlignedNow();
      const p0 = performance.now();
      const prepared = await prepareProcessRun(spec(`run_bench${String(i).padStart(14, '0')}`), dir, materialize, python);
      const tPrep = performance.now() - p0;
      await spawnWrapper({ runDir: dir, maxSeconds: 600, argv: prepared.argv, env: prepared.env, cwd: prepared.cwd });
      await until(() => (existsSync(join(dir, 'exit')) ? true : null), 'the wrapper exit file');
      const total = since(t0, readFileSync(join(dir, 'stdout.log'), 'utf8'));
      if (keep) direct.push(total), prep.push(tPrep), wrap.push(total - tPrep);

      // 4. materialize alone
      const u0 = performance.now();
      await materialize(spec('x'), join(scratch, `unpack${i}`));
      if (keep) unpack.push(performance.now() - u0);
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await b.close();
    removeHome(b.home);
    rmSync(ws, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }

  const row = (what: string, xs: number[]) => ({ what, p50: ms(median(xs)), p90: ms(percentile(xs, 90)) });
  table(`POST /v1/runs -> python running, ${ITER} sequential runs, ms`, [
    row('API: POST -> time_ns() in train.py', api),
    row('  of which: POST -> 201 response', resp),
    row('  of which: POST -> startedAt recorded (ms res.)', started),
    row('peer: spawn python3 train.py', peer),
    row('direct executor path (no HTTP/store)', direct),
    row('  prepareProcessRun (materialize + shims)', prep),
    row('  spawnWrapper -> python (shell chain)', wrap),
    row('unpackImage alone', unpack),
  ]);
  ratio('launch-p50', 'api/spawn', median(api) / median(peer));
  ratio('launch-p90', 'api/spawn', percentile(api, 90) / percentile(peer, 90));
  ratio('launch-p50', 'direct-executor/spawn', median(direct) / median(peer));
  printRatios();
}

await main();
