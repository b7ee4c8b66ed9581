/**
 * CLI start-up and exit: the built CLI (backend/dist/trainyard.mjs, what `./trainyard` and the
 * npm bin run) against bare Node start-up, `node -e ''`, in the same run, interleaved.
 *
 * - `trainyard --help` (no backend; also through the checkout's `./trainyard` wrapper) and
 *   `trainyard runs` (a backend as its own process, `trainyard serve`, holding a finished run of
 *   the example): wall time of the child process.
 * - `trainyard save` of the example workspace after a one-line edit: the child's wall time
 *   against the work it does, measured in this process as saveWorkspace with the same client
 *   (TrainyardClient over the CLI's httpFetch) on the same kind of edit. What the CLI adds is
 *   start-up plus whatever holds the process open after the last line.
 * Target (issue 13): --help and runs within 3x of bare Node; save wall within work + 3x bare.
 * Each figure is the median of REPS; the order rotates so a load spike hits all of them. On a
 * busy machine the medians swell with everyone's start-up; the p10 ratios show the unloaded shape.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainyardClient } from '@trainyard/shared/client';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { httpFetch } from '@trainyard/shared/http-fetch';
import { CLI, REPO, freePort, spawnBackend, waitForRuns } from '../test/helpers/backend';
import { median, ms, percentile, printRatios, ratio, step, table } from './lib';

const REPS = Number(process.env.BENCH_REPS ?? 15);

function wall(args: string[], env: NodeJS.ProcessEnv, command = process.execPath): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const took = performance.now() - t;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr}`));
      else resolve(took);
    });
  });
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), 'ty-bench-cli-'));
  const ws = join(home, 'ws');
  cpSync(join(REPO, 'examples/eta-correction'), ws, { recursive: true });
  const backend = await step('start the backend (trainyard serve)', async () => spawnBackend(home, await freePort()));
  try {
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    const client = new TrainyardClient({ baseUrl: backend.url, token, fetch: httpFetch });
    const env: NodeJS.ProcessEnv = { ...process.env, TRAINYARD_URL: backend.url, TRAINYARD_HOME: home, NO_COLOR: '1' };
    delete env.TRAINYARD_TOKEN;
    const quiet = () => undefined;
    await step('save the example and run it once (the runs list)', async () => {
      const saved = await saveWorkspace(client, { dir: ws, model: 'eta-correction', onProgress: quiet });
      const res = await client.launch({ model: 'eta-correction', version: saved.version.label, entrypoint: 'train' });
      await waitForRuns(client, res.runs.map((r) => r.id), 180_000);
    });

    let edits = 0;
    const edit = () => appendFileSync(join(ws, 'train.py'), `# edit ${++edits}\n`);
    const contenders: Record<string, () => Promise<number>> = {
      "node -e ''": () => wall(['-e', ''], env),
      'trainyard --help': () => wall([CLI, '--help'], env),
      // what a user of the checkout types: the bash wrapper finds a Node >= 22 (scripts/node-env.sh), then execs the bundle
      './trainyard --help': () => wall(['--help'], env, join(REPO, 'trainyard')),
      'trainyard runs': () => wall([CLI, 'runs'], env),
      'trainyard save (wall)': () => {
        edit();
        return wall([CLI, 'save', ws, '--model', 'eta-correction'], env);
      },
      'saveWorkspace (work, in-process)': async () => {
        edit();
        const t = performance.now();
        await saveWorkspace(client, { dir: ws, model: 'eta-correction', onProgress: quiet });
        return performance.now() - t;
      },
    };
    const names = Object.keys(contenders);
    for (const n of names) await contenders[n](); // warm: caches, the page cache, the compile of each path
    const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = 0; i < REPS; i++) {
      for (let j = 0; j < names.length; j++) {
        const n = names[(i + j) % names.length];
        times[n].push(await contenders[n]());
      }
    }
    table(`CLI wall times, ${REPS} reps each (ms)`, names.map((n) => ({ what: n, p50: ms(median(times[n])), p10: ms(percentile(times[n], 10)), p90: ms(percentile(times[n], 90)) })));

    for (const [stat, at] of [['p50', 50], ['p10', 10]] as const) {
      const t = (n: string) => percentile(times[n], at);
      const bare = t("node -e ''");
      const save = t('trainyard save (wall)');
      const work = t('saveWorkspace (work, in-process)');
      console.log(`save ${stat}: wall ${ms(save)} ms = work ${ms(work)} ms + ${ms(save - work)} ms of CLI (start-up, exit); target: CLI part <= 3x bare = ${ms(3 * bare)} ms`);
      ratio(`cli-help-${stat}`, "trainyard --help/node -e ''", t('trainyard --help') / bare);
      ratio(`cli-wrapper-help-${stat}`, "./trainyard --help/node -e ''", t('./trainyard --help') / bare);
      ratio(`cli-runs-${stat}`, "trainyard runs/node -e ''", t('trainyard runs') / bare);
      ratio(`cli-save-${stat}`, "(save wall - work)/node -e ''", (save - work) / bare);
      ratio(`cli-save-wall-${stat}`, 'save wall/work', save / work);
    }
    printRatios();
  } finally {
    backend.child.kill('SIGTERM');
    await new Promise((r) => backend.child.once('close', r));
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
