// Surviving a backend crash: runs keep going while no executor watches them, and a new
// executor instance settles them from the ActiveRun the store would hand it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ActiveRun } from '../../../src/executors/executor';
import { executor, pidAlive, RecordingSink, sleep, spec, tempDir } from './helpers';

const N = 30;
const SCRIPTS = {
  // N numbered lines per stream over ~1.5 s; the stderr lines have no newline until the end of each
  // write pair, so partial lines are in flight when the backend "crashes"
  count: `
import sys, time
for i in range(${N}):
    print(f"out {i}", flush=True)
    sys.stderr.write(f"err {i}"); sys.stderr.flush()
    time.sleep(0.025)
    sys.stderr.write("\\n"); sys.stderr.flush()
    time.sleep(0.025)
`,
  slow: `
import os, time
with open(os.path.join(os.environ["TRAINYARD_OUTPUT_DIR"], "pid"), "w") as f:
    f.write(str(os.getpid()))
print("started", flush=True)
time.sleep(60)
`,
  once: `
import os, time
with open(os.path.join(os.environ["TRAINYARD_OUTPUT_DIR"], "starts"), "a") as f:
    f.write("x")
print("started", flush=True)
time.sleep(1)
print("done", flush=True)
`,
};

const expected = (prefix: string) => Array.from({ length: N }, (_, i) => `${prefix} ${i}`);

/** what the crashed executor and the one after it delivered, together: every line once, in order */
function assertEveryLineOnce(before: RecordingSink, after: RecordingSink, id: string): void {
  assert.deepEqual([...before.lines(id, 'stdout'), ...after.lines(id, 'stdout')], expected('out'));
  assert.deepEqual([...before.lines(id, 'stderr'), ...after.lines(id, 'stderr')], expected('err'));
}

describe('local executor: re-attach after a backend crash', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir('local-reattach')));
  afterEach(() => tmp.remove());

  it('re-attaches to a run that kept going and delivers every log line exactly once', async () => {
    const sink1 = new RecordingSink();
    const ex1 = executor(tmp.path, SCRIPTS);
    await ex1.start(sink1, []);
    const s = spec('count');
    await ex1.submit([s]);
    await sink1.waitLine(s.id, 'out 5');
    await ex1.stop(); // the "crash": nothing watches the run any more
    const before = sink1.events.length;
    await sleep(500);
    assert.equal(sink1.events.length, before, 'a stopped executor reports nothing');
    const started = sink1.startedEvent(s.id)!;
    const active: ActiveRun = { spec: s, status: 'Running', ref: sink1.lastRef(s.id), startedAt: started.startedAt };

    const sink2 = new RecordingSink();
    const ex2 = executor(tmp.path, SCRIPTS);
    await ex2.start(sink2, [active]);
    const fin = await sink2.waitFinished(s.id);
    await ex2.stop();

    assert.equal(fin.status, 'Succeeded');
    assert.equal(sink2.startedEvent(s.id), undefined, 'a Running run is not started again');
    assert.ok(sink1.lines(s.id).length > 0 && sink2.lines(s.id).length > 0, 'both instances delivered some lines');
    assertEveryLineOnce(sink1, sink2, s.id);
  });

  it('settles a run that ended while the backend was down from its exit file', async () => {
    const sink1 = new RecordingSink();
    const ex1 = executor(tmp.path, SCRIPTS);
    await ex1.start(sink1, []);
    const s = spec('count');
    await ex1.submit([s]);
    await sink1.waitLine(s.id, 'out 3');
    await ex1.stop();
    const exitFile = join(tmp.path, s.id, 'exit');
    for (let i = 0; i < 50 && !existsSync(exitFile); i++) await sleep(100);
    assert.ok(existsSync(exitFile), 'the run finished on its own while nothing watched it');

    const sink2 = new RecordingSink();
    const ex2 = executor(tmp.path, SCRIPTS);
    await ex2.start(sink2, [{ spec: s, status: 'Running', ref: sink1.lastRef(s.id), startedAt: sink1.startedEvent(s.id)!.startedAt }]);
    const fin = await sink2.waitFinished(s.id);
    await ex2.stop();
    assert.equal(fin.status, 'Succeeded');
    assert.equal(fin.exitCode, 0);
    assert.ok(sink1.lines(s.id).length > 0, 'some lines were delivered before the crash');
    assertEveryLineOnce(sink1, sink2, s.id);
  });

  it('finishes Failed, "lost track", a run whose process died without an exit status, and kills its leftovers', async () => {
    const sink1 = new RecordingSink();
    const ex1 = executor(tmp.path, SCRIPTS);
    await ex1.start(sink1, []);
    const s = spec('slow');
    await ex1.submit([s]);
    await sink1.waitLine(s.id, 'started');
    await ex1.stop();
    const ref = sink1.lastRef(s.id) as { pid: number };
    const pyPid = Number(readFileSync(join(tmp.path, s.id, 'output', 'pid'), 'utf8'));
    process.kill(ref.pid, 'SIGKILL'); // the wrapper dies: nobody will write the exit file
    for (let i = 0; i < 50 && pidAlive(ref.pid); i++) await sleep(50);
    assert.ok(pidAlive(pyPid), 'the training process outlived its wrapper');

    const sink2 = new RecordingSink();
    const ex2 = executor(tmp.path, SCRIPTS);
    await ex2.start(sink2, [{ spec: s, status: 'Running', ref, startedAt: sink1.startedEvent(s.id)!.startedAt }]);
    const fin = await sink2.waitFinished(s.id);
    await ex2.stop();
    assert.equal(fin.status, 'Failed');
    assert.equal(fin.reason, 'the backend lost track of this run (process gone, no exit status)');
    assert.equal(fin.exitCode, null);
    await sleep(300);
    assert.ok(!pidAlive(pyPid), 'the orphaned training process was killed');
  });

  it('never takes a reused pid for the run (same pid, other start time)', async () => {
    const sink1 = new RecordingSink();
    const ex1 = executor(tmp.path, SCRIPTS);
    await ex1.start(sink1, []);
    const s = spec('slow');
    await ex1.submit([s]);
    await sink1.waitLine(s.id, 'started');
    await ex1.stop();
    const ref = sink1.lastRef(s.id) as { pid: number; startTime: string };
    // the stored ref points at a live process (this very test process) with a different start time
    const forged = { ...ref, pid: process.pid };
    const pyPid = Number(readFileSync(join(tmp.path, s.id, 'output', 'pid'), 'utf8'));
    const sink2 = new RecordingSink();
    const ex2 = executor(tmp.path, SCRIPTS);
    await ex2.start(sink2, [{ spec: s, status: 'Running', ref: forged, startedAt: null }]);
    const fin = await sink2.waitFinished(s.id);
    await ex2.stop();
    assert.equal(fin.status, 'Failed');
    assert.match(fin.reason ?? '', /lost track/);
    assert.ok(pidAlive(process.pid));
    // clean up the real run
    process.kill(ref.pid, 'SIGKILL');
    process.kill(pyPid, 'SIGKILL');
  });

  it('adopts a Pending run whose process was spawned just before the crash instead of starting it twice', async () => {
    const sink1 = new RecordingSink();
    const ex1 = executor(tmp.path, SCRIPTS);
    await ex1.start(sink1, []);
    const s = spec('once');
    await ex1.submit([s]);
    await sink1.waitLine(s.id, 'started');
    await ex1.stop();
    // the store never recorded started(): it still has the run as Pending, without a ref
    const sink2 = new RecordingSink();
    const ex2 = executor(tmp.path, SCRIPTS);
    await ex2.start(sink2, [{ spec: s, status: 'Pending', ref: null, startedAt: null }]);
    const fin = await sink2.waitFinished(s.id);
    await ex2.stop();
    assert.equal(fin.status, 'Succeeded');
    assert.ok(sink2.startedEvent(s.id), 'started() reported for the adopted run');
    assert.equal(readFileSync(join(tmp.path, s.id, 'output', 'starts'), 'utf8'), 'x', 'the run was started once');
    assert.deepEqual(sink2.lines(s.id, 'stdout'), ['started', 'done']);
  });

  it('queues a Pending run that never started, and runs it', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS);
    const s = spec('once');
    await ex.start(sink, [{ spec: s, status: 'Pending', ref: null, startedAt: null }]);
    const fin = await sink.waitFinished(s.id);
    await ex.stop();
    assert.equal(fin.status, 'Succeeded');
    assert.deepEqual(sink.lines(s.id, 'stdout'), ['started', 'done']);
  });
});
