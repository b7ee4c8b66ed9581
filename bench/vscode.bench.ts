/**
 * VS Code extension figures, side by side in one run:
 *  - activate(): VS Code's own activation time (code loading + the activate call, as shown by
 *    "Developer: Show Running Extensions") for the Trainyard extension and for a minimal
 *    extension (an empty activate, same activation event), both installed in one code-server,
 *    over several window reloads. Budget: Trainyard at most 50 ms more.
 *  - the Runs tree under load: 10,000 runs loaded, bursts of 100 run events (one batch per
 *    200 ms as the connection hands them out): the time to fold a batch in and answer the
 *    tree's getChildren for the root and every sweep. Budget: no task over 50 ms.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Run } from '@trainyard/shared/schemas/runs';
import { RunsModel } from '../vscode-ext/src/views/runs-model';
import { REPO, spawnBackend, freePort } from '../test/helpers/backend';
import { buildVsix, runCommand, startCodeServer } from '../test/vscode/code-server';
import { median, ms, percentile, ratio, printRatios, table } from './lib';

function minimalVsix(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ty-min-ext-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'minimal', displayName: 'Minimal', publisher: 'bench', version: '0.0.1', engines: { vscode: '^1.90.0' }, main: './extension.js', activationEvents: ['onStartupFinished'], extensionKind: ['workspace'] }));
  writeFileSync(join(dir, 'extension.js'), 'exports.activate = function () {};\nexports.deactivate = function () {};\n');
  execFileSync(join(REPO, 'node_modules/.bin/vsce'), ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', join(dir, 'minimal.vsix')], { cwd: dir, stdio: 'ignore', input: 'y\n' });
  return join(dir, 'minimal.vsix');
}

async function activation(): Promise<Array<{ trainyard: number; minimal: number }>> {
  const home = mkdtempSync(join(tmpdir(), 'ty-bench-home-'));
  const backend = await spawnBackend(home, await freePort());
  const ws = mkdtempSync(join(tmpdir(), 'ty-bench-ws-'));
  mkdirSync(join(ws, 'src'));
  const cs = await startCodeServer({ vsix: buildVsix(), extra: [minimalVsix()], workspace: ws, settings: { 'trainyard.url': backend.url } });
  const out: Array<{ trainyard: number; minimal: number }> = [];
  try {
    const { page } = cs;
    for (let i = 0; i < 5; i++) {
      if (i > 0) { await page.reload(); await page.waitForSelector('.monaco-workbench', { timeout: 60000 }); }
      await page.locator('.statusbar-item', { hasText: 'Trainyard' }).first().waitFor({ timeout: 60000 });
      await runCommand(page, 'Developer: Show Running Extensions');
      const row = (name: string) => page.locator('.runtime-extensions-editor .monaco-list-row', { hasText: name }).locator('.activation-time');
      await row('Trainyard').waitFor({ timeout: 30000 });
      await row('Minimal').waitFor({ timeout: 30000 });
      const num = async (name: string) => Number(/([\d.]+)\s*ms/.exec(await row(name).innerText())?.[1] ?? NaN);
      out.push({ trainyard: await num('Trainyard'), minimal: await num('Minimal') });
    }
  } finally {
    await cs.stop();
    backend.child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
    rmSync(ws, { recursive: true, force: true });
  }
  return out;
}

function runsTree(): { batchMs: number[]; childrenMs: number[] } {
  let seq = 0;
  const mk = (sweep: string | null): Run => {
    seq++;
    return { id: `run_${String(seq).padStart(12, '0')}`, model: 'eta', version: 'v1', entrypoint: 'train', command: 'python train.py', params: { region: `r${seq % 7}` }, hardware: 'cpu-small', status: 'Pending', reason: null, sweepId: sweep, sweepIndex: sweep ? seq % 100 : null, scheduleId: null, executor: 'local', maxDurationSeconds: 3600, exitCode: null, createdBy: 'admin', createdAt: new Date(1_800_000_000_000 + seq * 1000).toISOString(), startedAt: null, finishedAt: null, pricePerHour: 0.05, estimatedCost: 0.05, actualCost: null };
  };
  const runs = Array.from({ length: 10000 }, (_, i) => mk(i % 2 ? `swp_${String(Math.floor(i / 200)).padStart(10, '0')}` : null)).reverse();
  const m = new RunsModel();
  m.addPage(runs, null);
  m.roots();
  const batchMs: number[] = [];
  const childrenMs: number[] = [];
  for (let b = 0; b < 50; b++) {
    const batch: Run[] = [];
    for (let k = 0; k < 100; k++) {
      const r = runs[(b * 100 + k * 37) % runs.length];
      batch.push({ ...r, status: k % 3 ? 'Running' : 'Succeeded', startedAt: r.createdAt });
    }
    if (b % 10 === 0) batch.push(mk(null)); // a new run now and then: a root refresh
    let t = performance.now();
    const refresh = m.apply(batch);
    batchMs.push(performance.now() - t);
    t = performance.now();
    const roots = m.roots();
    if (refresh.root) for (const n of roots) if (n.kind === 'sweep') m.members(n.sweepId);
    else for (const n of refresh.nodes) if (n.kind === 'sweep') m.members(n.sweepId);
    childrenMs.push(performance.now() - t);
  }
  return { batchMs, childrenMs };
}

const tree = runsTree();
table('Runs tree, 10,000 runs loaded, 50 batches of 100 run events (ms per batch)', [
  { step: 'apply(batch)', median: ms(median(tree.batchMs)), p99: ms(percentile(tree.batchMs, 99)), max: ms(Math.max(...tree.batchMs)), budget: '< 50' },
  { step: 'roots + changed sweeps', median: ms(median(tree.childrenMs)), p99: ms(percentile(tree.childrenMs, 99)), max: ms(Math.max(...tree.childrenMs)), budget: '< 50' },
]);

const act = await activation();
table('activate() in code-server 4.139.1 (VS Code activation time: code loading + activate, ms)', act.map((a, i) => ({ window: i + 1, trainyard: ms(a.trainyard), minimal: ms(a.minimal), difference: ms(a.trainyard - a.minimal) })));
const diff = median(act.map((a) => a.trainyard)) - median(act.map((a) => a.minimal));
console.log(`\nmedian difference: ${ms(diff)} ms (budget: at most 50 ms more)`);
ratio('vscode-activate', 'trainyard/minimal', median(act.map((a) => a.trainyard)) / Math.max(0.01, median(act.map((a) => a.minimal))));
printRatios();
