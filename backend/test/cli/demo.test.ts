/** `trainyard demo` from the built bundle: save, sweep, a line per finished run, keeps serving; a second start relaunches. */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainyardClient } from '@trainyard/shared';
import { CLI, REPO, removeHome } from '../../../test/helpers/backend';

interface DemoRun {
  stdout: string;
  stderr: string;
  code: number | null;
  url: string;
}

/** Starts the demo, waits for "all 3 runs finished", checks it still serves, then SIGINTs it. */
async function runDemo(home: string, config: string, check: (url: string, stdout: string) => Promise<void>): Promise<DemoRun> {
  const child = spawn(process.execPath, [CLI, 'demo'], {
    env: { ...process.env, TRAINYARD_HOME: home, TRAINYARD_CONFIG: config, NO_COLOR: '1', TRAINYARD_TOKEN: '', TRAINYARD_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  try {
    const deadline = Date.now() + 90000;
    while (!/all 3 runs finished/.test(stdout) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(stdout, /all 3 runs finished; still serving at http/, `stdout: ${stdout}\nstderr: ${stderr}`);
    const url = /listening on (http:\/\/\S+)/.exec(stdout)![1];
    await check(url, stdout);
    child.kill('SIGINT');
    const code = await exited;
    return { stdout, stderr, code, url };
  } finally {
    child.kill('SIGKILL');
  }
}

describe('cli demo (built bundle)', () => {
  let home: string;
  let config: string;
  before(() => {
    execFileSync(process.execPath, [join(REPO, 'backend/build.mjs')], { stdio: 'inherit' });
    home = mkdtempSync(join(tmpdir(), 'ty-demo-'));
    config = join(home, 'trainyard.yaml');
    writeFileSync(config, 'server:\n  port: 0\n');
  });
  after(() => removeHome(home));

  it('saves the example, launches a 3-point region sweep, prints where to look and each finished run', async () => {
    const first = await runDemo(home, config, async (url) => {
      const client = new TrainyardClient({ baseUrl: url, token: readFileSync(join(home, 'token'), 'utf8').trim() });
      assert.equal((await client.health()).ok, true, 'still serving after the runs finished');
    });
    assert.equal(first.code, 0, first.stderr);
    const out = first.stdout;
    assert.match(out, /^saved .*examples\/eta-correction as eta-correction:\S+/m);
    assert.match(out, /^launched sweep swp_\w+: 3 runs of eta-correction over region=sfo,nyc,sea$/m);
    assert.match(out, /trainyard runs --model eta-correction/);
    assert.match(out, new RegExp(`API: ${first.url.replace(/[.]/g, '\\.')}`));
    const ids = [...out.matchAll(/trainyard logs (run_\w+) -f +.*trainyard metrics (run_\w+)/g)].map((m) => m[1]);
    assert.equal(ids.length, 3, out);
    for (const [i, region] of ['sfo', 'nyc', 'sea'].entries()) {
      assert.match(out, new RegExp(`^  ${ids[i]}  region=${region}  Succeeded  in \\S+`, 'm'), `a finished line for ${ids[i]}`);
    }
    assert.match(first.stderr, /stopped/);
  });

  it('a second start in the same home saves again and launches another sweep', async () => {
    const second = await runDemo(home, config, async (url) => {
      const client = new TrainyardClient({ baseUrl: url, token: readFileSync(join(home, 'token'), 'utf8').trim() });
      const runs = await client.listRuns({ model: 'eta-correction' });
      assert.equal(runs.items.length, 6, 'three runs from each start');
    });
    assert.equal(second.code, 0, second.stderr);
  });
});
