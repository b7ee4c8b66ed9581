// Process-sandbox runs end to end: real python processes, real files, real signals.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { executor, RecordingSink, spec, tempDir } from './helpers';

const SCRIPTS = {
  ok: `
import json, os, sys
import trainyard
p = trainyard.params()
print("hello from stdout")
print("warming up", file=sys.stderr)
for step in range(3):
    trainyard.log_metric("rmse", 1.0 / (step + 1), step=step)
    print(f"err line {step}", file=sys.stderr)
print("cwd=" + os.getcwd())
print("env=" + json.dumps(sorted(os.environ.keys())))
print("home=" + os.environ["HOME"])
print("params=" + json.dumps(p, sort_keys=True))
print("ids=" + "|".join(os.environ[k] for k in ["TRAINYARD_RUN_ID", "TRAINYARD_MODEL", "TRAINYARD_VERSION", "TRAINYARD_ENTRYPOINT"]))
print("exe=" + sys.executable)
import resource
print("limits=%d %d" % (resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_NOFILE)[0]))
with open(os.path.join(os.environ["TRAINYARD_OUTPUT_DIR"], "model.txt"), "w") as f:
    f.write("weights")
sys.stdout.write("last line without newline")
`,
  fail: `
import sys
print("about to fail")
print("ValueError: learning rate must be positive", file=sys.stderr)
sys.exit(3)
`,
  slow: `
import time
print("started", flush=True)
time.sleep(60)
`,
  selfkill: `
import os, signal
print("bye", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
`,
};

describe('local executor: process sandbox runs', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir('local-exec');
    process.env.TRAINYARD_TOKEN_FOR_TEST = 'must-not-leak';
  });
  afterEach(() => {
    delete process.env.TRAINYARD_TOKEN_FOR_TEST;
    tmp.remove();
  });

  it('runs a script to success, capturing stdout and stderr lines in order, with the contract environment', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS);
    await ex.start(sink, []);
    const s = spec('ok', { params: { lr: 0.5, name: 'x' } });
    await ex.submit([s]);
    const fin = await sink.waitFinished(s.id);
    await ex.stop();

    assert.deepEqual({ status: fin.status, exitCode: fin.exitCode, reason: fin.reason }, { status: 'Succeeded', exitCode: 0, reason: null });
    const started = sink.startedEvent(s.id);
    assert.ok(started, 'started was reported');
    const ref = started.ref as { pid: number; startTime: string; mode: string };
    assert.ok(ref.pid > 1 && /^\d+$/.test(ref.startTime), `ref has pid and start time: ${JSON.stringify(ref)}`);
    assert.equal(ref.mode, 'process');

    const out = sink.lines(s.id, 'stdout');
    const runDir = join(tmp.path, s.id);
    assert.deepEqual(out.slice(0, 4), [
      'hello from stdout',
      '::trainyard:metric {"name": "rmse", "value": 1.0, "step": 0}',
      '::trainyard:metric {"name": "rmse", "value": 0.5, "step": 1}',
      '::trainyard:metric {"name": "rmse", "value": 0.3333333333333333, "step": 2}',
    ]);
    assert.equal(out[out.length - 1], 'last line without newline');
    assert.deepEqual(sink.lines(s.id, 'stderr'), ['warming up', 'err line 0', 'err line 1', 'err line 2']);
    assert.ok(out.includes(`cwd=${join(runDir, 'root', 'app')}`), `cwd is root/app: ${out.find((l) => l.startsWith('cwd='))}`);
    assert.ok(out.includes(`home=${join(runDir, 'home')}`));
    // rlimits from the 1Gi profile: address space 2 x 1 GiB + 1 GiB, 4096 open files
    assert.ok(out.includes(`limits=${3 * 1024 ** 3} 4096`), `rlimits: ${out.find((l) => l.startsWith('limits='))}`);
    assert.ok(out.includes('params={"lr": 0.5, "name": "x"}'));
    assert.ok(out.includes(`ids=${s.id}|eta-correction|abc123|train`));
    const env = JSON.parse(out.find((l) => l.startsWith('env='))!.slice(4)) as string[];
    const allowed = ['HOME', 'LANG', 'PATH', 'PYTHONPATH', 'PYTHONUNBUFFERED', 'TRAINYARD_ENTRYPOINT', 'TRAINYARD_MODEL', 'TRAINYARD_OUTPUT_DIR', 'TRAINYARD_PARAMS', 'TRAINYARD_RUN_ID', 'TRAINYARD_VERSION'];
    // the shell adds PWD and Python may add LC_CTYPE; nothing of the backend's environment may appear
    assert.deepEqual(env.filter((k) => k !== 'LC_CTYPE' && k !== 'PWD'), allowed);
    assert.ok(!out.some((l) => l.includes('must-not-leak')));
    assert.equal(readFileSync(join(runDir, 'output', 'model.txt'), 'utf8'), 'weights');
    assert.ok(existsSync(join(runDir, 'stdout.log')) && existsSync(join(runDir, 'stderr.log')) && existsSync(join(runDir, 'exit')));
    // every sink.log ref carries offsets that end at the file sizes once done
    const last = sink.lastRef(s.id) as { stdout: { offset: number }; stderr: { offset: number } };
    assert.equal(last.stdout.offset, readFileSync(join(runDir, 'stdout.log')).length);
    assert.equal(last.stderr.offset, readFileSync(join(runDir, 'stderr.log')).length);
  });

  it('reports a non-zero exit as Failed with the code and the last stderr line', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS);
    await ex.start(sink, []);
    const s = spec('fail');
    await ex.submit([s]);
    const fin = await sink.waitFinished(s.id);
    await ex.stop();
    assert.equal(fin.status, 'Failed');
    assert.equal(fin.exitCode, 3);
    assert.equal(fin.reason, 'exited with code 3: ValueError: learning rate must be positive');
    assert.deepEqual(sink.lines(s.id, 'stdout'), ['about to fail']);
  });

  it('says which signal killed a run', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS);
    await ex.start(sink, []);
    const s = spec('selfkill');
    await ex.submit([s]);
    const fin = await sink.waitFinished(s.id);
    await ex.stop();
    assert.equal(fin.status, 'Failed');
    assert.equal(fin.exitCode, 137);
    assert.match(fin.reason ?? '', /^killed by signal SIGKILL/);
  });

  it('enforces the max duration with timeout, as Failed "exceeded max duration"', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS);
    await ex.start(sink, []);
    const s = spec('slow', { maxDurationSeconds: 2 });
    const t0 = Date.now();
    await ex.submit([s]);
    const fin = await sink.waitFinished(s.id, 20_000);
    await ex.stop();
    const took = Date.now() - t0;
    assert.equal(fin.status, 'Failed');
    assert.equal(fin.reason, 'exceeded max duration of 2 seconds');
    assert.equal(fin.exitCode, 124);
    assert.ok(took >= 1900 && took < 8000, `ended after ${took} ms`);
    assert.deepEqual(sink.lines(s.id, 'stdout'), ['started']);
  });

  it('fails a run cleanly when the configured python cannot be run', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, SCRIPTS, { config: { maxConcurrent: 2, podman: 'auto', python: 'no-such-python-3.99' } });
    await ex.start(sink, []);
    const s = spec('ok');
    await ex.submit([s]);
    const fin = await sink.waitFinished(s.id);
    await ex.stop();
    assert.equal(fin.status, 'Failed');
    assert.match(fin.reason ?? '', /could not prepare the run: the configured python .*no-such-python-3\.99.* not found on PATH/);
    assert.equal(sink.startedEvent(s.id), undefined);
  });
});
