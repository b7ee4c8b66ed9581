/** RUN_COMMAND, the end of every pod's shell: the command's exit status, SIGTERM passed on to it, and the finish step after it. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { RUN_COMMAND } from '../../../src/executors/kubernetes/manifests';

const run = (command: string, finish?: string) =>
  spawnSync('sh', ['-c', RUN_COMMAND], { env: { PATH: process.env.PATH, TRAINYARD_COMMAND: command, ...(finish ? { TRAINYARD_FINISH: finish } : {}) }, encoding: 'utf8' });

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

  it('runs the finish step after the command, whatever its status, and keeps the command\'s status even when the step fails', () => {
    const ok = run('echo training; exit 0', 'echo finishing; exit 9');
    assert.equal(ok.stdout, 'training\nfinishing\n');
    assert.equal(ok.status, 0);
    const failed = run('echo training; exit 4', 'echo finishing');
    assert.equal(failed.stdout, 'training\nfinishing\n');
    assert.equal(failed.status, 4);
  });

  it('runs the finish step after a SIGTERM too (a cancel keeps what the run wrote, within the grace period)', async () => {
    const child = spawn('sh', ['-c', RUN_COMMAND], {
      env: { PATH: process.env.PATH, TRAINYARD_COMMAND: "trap 'exit 143' TERM; echo ready; while :; do sleep 0.05; done", TRAINYARD_FINISH: 'echo finishing' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(out, 'ready\nfinishing\n');
    assert.equal(code, 143);
  });
});
