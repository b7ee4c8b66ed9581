/**
 * The built CLI (backend/dist/trainyard.mjs) as a child process against a real
 * backend started in-process on a free port with a temp data home.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HardwareWithAvailability, LaunchResult, MetricList, Run, RunPage, Version } from '@trainyard/shared';
import { CLI, COUNTER, REPO, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../../../test/helpers/backend';

const EXAMPLE = join(REPO, 'examples/eta-correction');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** exit 0 and nothing on stderr, or fail showing both streams */
function ok(r: Result): string {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

function oneLineFailure(r: Result, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `expected a failure, got exit 0: ${r.stdout}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one stderr line, got: ${r.stderr}`);
  assert.match(lines[0], /^trainyard: /);
  assert.match(lines[0], pattern);
  assert.equal(r.stdout, '');
}

describe('cli end-to-end (built bundle, real backend)', function () {
  let b: TestBackend;
  let env: NodeJS.ProcessEnv;
  let version: Version;

  before(async () => {
    execFileSync(process.execPath, [join(REPO, 'backend/build.mjs')], { stdio: 'inherit' });
    b = await startTestBackend();
    env = { ...process.env, TRAINYARD_URL: b.url, TRAINYARD_HOME: b.home, NO_COLOR: '1' };
    delete env.TRAINYARD_TOKEN;
    delete env.TRAINYARD_CONFIG;
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
  });

  it('hardware --json prints the API JSON; the table shows price and availability', async () => {
    const res = JSON.parse(ok(await cli(['hardware', '--json'], env))) as { items: HardwareWithAvailability[] };
    const small = res.items.find((h) => h.name === 'cpu-small');
    assert.ok(small, JSON.stringify(res));
    assert.equal(small.pricePerHour, 0.05);
    assert.ok(['fits-now', 'will-queue', 'cannot-fit'].includes(small.availability.status));
    const table = ok(await cli(['hardware'], env)).split('\n');
    assert.match(table[0], /^NAME +CPU +MEMORY +GPU +PRICE +AVAILABILITY +SLOTS +REASON$/);
    assert.match(table.find((l) => l.startsWith('cpu-small'))!, /^cpu-small +1 +2Gi +- +\$0\.0500\/h +(fits-now|will-queue|cannot-fit) +\d+/);
  });

  it('models says there are none before the first save', async () => {
    assert.match(ok(await cli(['models'], env)), /no models yet/);
  });

  it('saves the example workspace and lists it under models and versions', async () => {
    const r = await cli(['save', EXAMPLE, '--model', 'eta-correction', '--version', 'e2e-1'], env);
    const out = ok(r);
    assert.match(out, /^saved eta-correction:e2e-1$/m);
    assert.match(out, /digest +sha256:[0-9a-f]{64}/);
    assert.match(out, /files +(\d+) of \1 files read in place, none uploaded$/m, 'the backend is on loopback: it reads every file in place');
    const versions = JSON.parse(ok(await cli(['versions', 'eta-correction', '--json'], env))) as { items: Version[] };
    assert.deepEqual(versions.items.map((v) => v.label), ['e2e-1']);
    version = versions.items[0];
    assert.match(out, new RegExp(`digest +${version.digest}`));
    assert.match(ok(await cli(['models'], env)), /^eta-correction +- +e2e-1 +1 +0 /m);
  });

  it('save reads the model and entrypoints remembered in .trainyard/model.json; a bad file is one line naming it', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'ty-ws-'));
    cpSync(COUNTER, ws, { recursive: true });
    mkdirSync(join(ws, '.trainyard'));
    writeFileSync(join(ws, '.trainyard/model.json'), JSON.stringify({ model: 'remembered', entrypoints: { train: 'python train.py', extra: 'python predict.py' } }));
    const out = ok(await cli(['save', ws, '--version', 'mf-1'], env));
    assert.match(out, /^saved remembered:mf-1$/m);
    assert.match(out, /entrypoints +.*train="python train.py" extra="python predict.py"/);
    // a flag wins over the file
    assert.match(ok(await cli(['save', ws, '--model', 'flagged', '--version', 'mf-2'], env)), /^saved flagged:mf-2$/m);
    writeFileSync(join(ws, '.trainyard/model.json'), JSON.stringify({ model: 'Bad Name' }));
    oneLineFailure(await cli(['save', ws], env), /\.trainyard\/model\.json: model: .*fix or delete the file/);
    writeFileSync(join(ws, '.trainyard/model.json'), '{"model": ');
    oneLineFailure(await cli(['save', ws], env), /\.trainyard\/model\.json is not valid JSON/);
    rmSync(ws, { recursive: true, force: true });
  });

  it('train --estimate prices a sweep and launches nothing', async () => {
    const out = ok(await cli(['train', 'eta-correction', '--sweep', 'region=sfo,nyc', '--sweep', 'lr=0.1,0.2,0.3', '--estimate'], env));
    assert.match(out, /6 runs × \$0\.0500\/h \(cpu-small\) × 1h 00m expected = \$0\.3000/);
    assert.match(out, /basis: the max duration/);
    const page = JSON.parse(ok(await cli(['runs', '--json'], env))) as RunPage;
    assert.equal(page.items.length, 0);
  });

  let runId = '';
  it('trains one run, follows its logs to the end showing metric lines, then shows it in runs/run/metrics', async () => {
    const launched = JSON.parse(ok(await cli(['train', 'eta-correction', '--param', 'region=sfo', '--param', 'epochs=5', '--param', 'n=2000', '--json'], env))) as LaunchResult;
    assert.equal(launched.runs.length, 1);
    runId = launched.runs[0].id;
    assert.equal(launched.runs[0].params.region, 'sfo');

    const logs = await cli(['logs', runId, '-f'], env);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /^::trainyard:metric \{.*"name":/m);
    assert.match(logs.stderr, new RegExp(`-- ${runId} Succeeded after`));
    const [final] = await waitForRuns(b.client, [runId], 5000);
    assert.equal(final.status, 'Succeeded', final.reason ?? '');

    const page = JSON.parse(ok(await cli(['runs', '--json', '--model', 'eta-correction'], env))) as RunPage;
    assert.deepEqual(page.items.map((r) => r.id), [runId]);
    const table = ok(await cli(['runs'], env)).split('\n');
    assert.match(table[1], new RegExp(`^${runId} +eta-correction +e2e-1 +train +Succeeded +${b.server.ctx.user} +cpu-small +(just now|.+ ago) +\\S+( \\S+)? +\\$\\d\\.\\d{4}`));

    const detail = ok(await cli(['run', runId], env));
    assert.match(detail, /^params +epochs=5 n=2000 region=sfo$/m);
    assert.match(detail, /^status +Succeeded +\(exit code 0\)$/m);
    assert.match(detail, /^cost +estimated \$\d\.\d{4}, actual \$\d\.\d{4}$/m);
    assert.equal((JSON.parse(ok(await cli(['run', runId, '--json'], env))) as Run).id, runId);

    const metrics = await b.client.getMetrics(runId);
    assert.ok(metrics.series.length > 0, 'the example logs metrics');
    const m = metrics.series[0];
    const text = ok(await cli(['metrics', runId], env));
    assert.match(text, /^METRIC +LAST +STEP +MIN +MAX +COUNT$/m);
    assert.match(text, new RegExp(`^${m.name} +\\S+ +\\S+ +\\S+ +\\S+ +${m.points.length}$`, 'm'));
    const json = JSON.parse(ok(await cli(['metrics', runId, '--json'], env))) as MetricList;
    assert.deepEqual(json, metrics);
  });

  it('train sends typed params: numbers and booleans stay numbers and booleans', async () => {
    const res = JSON.parse(ok(await cli(['train', 'eta-correction', '--param', 'epochs=1', '--param', 'n=200', '--param', 'lr=0.1', '--param', 'verbose=true', '--param', 'region=nyc', '--json'], env))) as LaunchResult;
    await waitForRuns(b.client, res.runs.map((r) => r.id), 60000);
    const run = await b.client.getRun(res.runs[0].id);
    assert.deepEqual(run.params, { epochs: 1, n: 200, lr: 0.1, verbose: true, region: 'nyc' });
  });

  it('cancels a running run', async () => {
    ok(await cli(['save', COUNTER, '--model', 'counter', '--version', 'v1'], env));
    const launched = JSON.parse(ok(await cli(['train', 'counter', '--param', 'steps=600', '--param', 'sleep=0.1', '--json'], env))) as LaunchResult;
    const id = launched.runs[0].id;
    await waitForRuns(b.client, [id], 60000, (r) => r.status === 'Running');
    const out = ok(await cli(['cancel', id], env));
    assert.match(out, new RegExp(`^${id} Cancelled`));
    const [run] = await waitForRuns(b.client, [id], 20000);
    assert.equal(run.status, 'Cancelled');
  });

  it('fails with one stderr line: unknown model, wrong token, unreachable backend, usage', async () => {
    oneLineFailure(await cli(['train', 'no-such-model'], env), /no-such-model/);
    const wrong = await cli(['models'], { ...env, TRAINYARD_TOKEN: 'ty_wrong' });
    oneLineFailure(wrong, /invalid bearer token/);
    assert.equal(wrong.code, 1);
    const down = await cli(['runs'], { ...env, TRAINYARD_URL: 'http://127.0.0.1:1' });
    oneLineFailure(down, /cannot reach the Trainyard backend at http:\/\/127\.0\.0\.1:1.*trainyard serve/);
    const usage = await cli(['train', 'eta-correction', '--param', 'lr'], env);
    oneLineFailure(usage, /--param expects KEY=VALUE/);
    assert.equal(usage.code, 2);
  });

  it('serve starts from a config file, says where things are, and stops cleanly on SIGINT', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ty-serve-'));
    const file = join(home, 'trainyard.yaml');
    writeFileSync(file, 'server:\n  port: 0\n');
    const child = spawn(process.execPath, [CLI, 'serve', '--config', file], { env: { ...env, TRAINYARD_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      const deadline = Date.now() + 20000;
      while (!/listening on (http:\/\/\S+)/.test(stdout) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
      assert.ok(url, `no URL in: ${stdout} ${stderr}`);
      assert.match(stdout, new RegExp(`data home +${home}`));
      assert.match(stdout, new RegExp(`token +${home}/token`));
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      // the token it points at works
      const models = await cli(['models', '--json'], { ...env, TRAINYARD_URL: url, TRAINYARD_HOME: home });
      assert.deepEqual(JSON.parse(ok(models)), { items: [] });
      // an open event stream does not hold the shutdown up: the server ends it
      const token = readFileSync(join(home, 'token'), 'utf8').trim();
      const events = await fetch(`${url}/v1/events`, { headers: { Authorization: `Bearer ${token}` } });
      const reader = events.body!.getReader();
      await reader.read(); // ": connected"
      const streamEnded = (async () => { while (!(await reader.read()).done); return true; })().catch(() => true);
      child.kill('SIGINT');
      assert.equal(await exited, 0, stderr);
      assert.equal(await streamEnded, true);
      assert.match(stderr, /stopped/);
      await assert.rejects(fetch(`${url}/healthz`));
    } finally {
      child.kill('SIGKILL');
      removeHome(home);
    }
  });

  it('serve reports a bad config file in one line', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ty-serve-'));
    const file = join(home, 'trainyard.yaml');
    writeFileSync(file, 'server:\n  port: "x"\n');
    try {
      oneLineFailure(await cli(['serve', '--config', file], { ...env, TRAINYARD_HOME: home }), /invalid .*trainyard\.yaml.*port/);
    } finally {
      removeHome(home);
    }
  });
});
