// Cancelling queued and running runs: real processes, real signals to the process group.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { executor, pidAlive, RecordingSink, sleep, spec, tempDir } from './helpers';

const SCRIPTS = {
  slow: `
import os, time
with open(os.path.join(os.environ["TRAINYARD_OUTPUT_DIR"], "pid"), "w") as f:
    f.write(str(os.getpid()))
print("started", flush=True)
time.sleep(60)
print("never printed", flush=True)
`,
  // a child process in the same tree: cancel must reach it too
  tree: `
import os, subprocess, time
child = subprocess.Popen(["sleep", "60"])
with open(os.path.join(os.environ["TRAINYARD_OUTPUT_DIR"], "pid"), "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
print("started", flush=True)
time.sleep(60)
`,
};

describe('local executor: cancel', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir('local-cancel')));
  afterEach(() => tmp.remove());

  it('cancels a running run: SIGTERM to its whole process tree, reported Cancelled (not Failed), idempotent', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS);
    await ex.start(sink, []);
    const s = spec('tree');
    await ex.submit([s]);
    await sink.waitLine(s.id, 'started');
    const pids = readFileSync(join(tmp.path, s.id, 'output', 'pid'), 'utf8').split(' ').map(Number);
    assert.ok(pids.every(pidAlive), 'the run and its child are running before the cancel');
    const t0 = Date.now();
    await ex.cancel(s.id);
    await ex.cancel(s.id); // idempotent while stopping
    const fin = await sink.waitFinished(s.id);
    assert.ok(Date.now() - t0 < 5000, 'SIGTERM ended it well before the SIGKILL grace period');
    assert.equal(fin.status, 'Cancelled');
    assert.equal(fin.reason, 'cancelled by user');
    await sleep(300);
    assert.deepEqual(pids.filter(pidAlive), [], 'no process of the run is left');
    await ex.cancel(s.id); // idempotent after the end
    await sleep(300);
    await ex.stop();
    assert.equal(sink.of(s.id).filter((e) => e.type === 'finished').length, 1, 'finished exactly once');
    assert.ok(!sink.lines(s.id).includes('never printed'));
  });

  it('cancels a queued run without ever starting it', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS, { config: { maxConcurrent: 1, podman: 'auto', python: 'python3' } });
    await ex.start(sink, []);
    const a = spec('slow');
    const b = spec('slow');
    await ex.submit([a, b]);
    await sink.waitFor(() => sink.of(b.id).some((e) => e.type === 'pending'), 'b to be pending');
    await ex.cancel(b.id);
    const fin = await sink.waitFinished(b.id);
    assert.deepEqual({ status: fin.status, exitCode: fin.exitCode, reason: fin.reason }, { status: 'Cancelled', exitCode: null, reason: 'cancelled by user' });
    await ex.cancel(b.id);
    await ex.cancel(a.id);
    await sink.waitFinished(a.id);
    await sleep(500); // b would have started now that the slot is free
    await ex.stop();
    assert.equal(sink.startedEvent(b.id), undefined, 'the cancelled queued run never started');
    assert.equal(sink.of(b.id).filter((e) => e.type === 'finished').length, 1);
  });

  it('reports a cancel of an unknown run as finished Cancelled', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS);
    await ex.start(sink, []);
    await ex.cancel('run_unknown00000');
    const fin = await sink.waitFinished('run_unknown00000');
    await ex.stop();
    assert.equal(fin.status, 'Cancelled');
  });
});
