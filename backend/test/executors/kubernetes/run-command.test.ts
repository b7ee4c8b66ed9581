/** RUN_COMMAND, the end of every pod's shell: the command's exit status, and SIGTERM passed on to it. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { RUN_COMMAND } from '../../../src/executors/kubernetes/manifests';

const run = (command: string) => spawnSync('sh', ['-c', RUN_COMMAND], { env: { PATH: process.env.PATH, TRAINYARD_COMMAND: command }, encoding: 'utf8' });

describe('kubernetes RUN_COMMAND', () => {
  it('exits with the command\'s status and keeps its output', () => {
    const r = run('echo hello; exit 3');
    assert.equal(r.status, 3);
    assert.equal(r.stdout, 'hello\n');
    assert.equal(run('true').status, 0);
  });

  it('passes SIGTERM on to the command (sh as PID 1 would ignore it) and exits with the command\'s status', async () => {
    const child = spawn('sh', ['-c', RUN_COMMAND], {
      env: { PATH: process.env.PATH, TRAINYARD_COMMAND: "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done" },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.match(out, /got TERM/);
    assert.equal(code, 7);
  });
});
