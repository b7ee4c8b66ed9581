/** examples/eta-correction and the `trainyard` Python module, run with the host Python. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMetricLine, type ParsedMetric } from '@trainyard/shared';
import { run } from '../images/helpers';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = join(REPO, 'examples', 'eta-correction');
const PYTHONPATH = join(REPO, 'python');

function metrics(stdout: string): ParsedMetric[] {
  return stdout.split('\n').map(parseMetricLine).filter((m): m is ParsedMetric => {
    assert.ok(!(m && 'error' in m), `malformed metric line: ${JSON.stringify(m)}`);
    return m !== null;
  });
}

describe('examples/eta-correction', () => {
  let out: string;
  beforeEach(() => (out = mkdtempSync(join(tmpdir(), 'ty-example-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));
  const env = (params: object) => ({ ...process.env, PYTHONPATH, TRAINYARD_PARAMS: JSON.stringify(params), TRAINYARD_OUTPUT_DIR: out, TRAINYARD_RUN_ID: 'run_test', PYTHONDONTWRITEBYTECODE: '1' });

  it('train.py trains to completion, logging loss and rmse per step and writing the model', async () => {
    const started = Date.now();
    const r = await run('python3', ['train.py'], { cwd: EXAMPLE, env: env({ region: 'sfo' }) });
    assert.equal(r.code, 0, r.stderr);
    const seconds = (Date.now() - started) / 1000;
    const ms = metrics(r.stdout);
    const loss = ms.filter((m) => m.name === 'loss');
    const rmse = ms.filter((m) => m.name === 'rmse');
    assert.equal(loss.length, 100);
    assert.deepEqual(rmse.map((m) => m.step), loss.map((_, i) => i + 1));
    assert.ok(loss[99].value < loss[0].value / 20, `loss went ${loss[0].value} -> ${loss[99].value}`);
    assert.ok(rmse[99].value < 1.5, `final rmse ${rmse[99].value} (noise is 1.0)`);
    const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    assert.equal(model.region, 'sfo');
    assert.equal(model.run_id, 'run_test');
    assert.equal(model.weights.length, 4);
    console.log(`      (train.py took ${seconds.toFixed(1)} s)`); // printed, not asserted: a loaded machine is slower
  });

  it('is deterministic per region and seed, and regions differ', async () => {
    const short = { epochs: 3, n: 2000 };
    const a = await run('python3', ['train.py'], { cwd: EXAMPLE, env: env({ ...short, region: 'nyc' }) });
    const b = await run('python3', ['train.py'], { cwd: EXAMPLE, env: env({ ...short, region: 'nyc' }) });
    const c = await run('python3', ['train.py'], { cwd: EXAMPLE, env: env({ ...short, region: 'lax' }) });
    assert.deepEqual(metrics(a.stdout), metrics(b.stdout));
    assert.notDeepEqual(metrics(a.stdout), metrics(c.stdout));
    const bad = await run('python3', ['train.py'], { cwd: EXAMPLE, env: env({ lr: 5 }) });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /lr must be between 0 and 1/);
  });

  it('predict.py predicts a batch from the saved model, or from a model fitted on synthetic trips', async () => {
    const t = await run('python3', ['train.py'], { cwd: EXAMPLE, env: env({ region: 'lax', epochs: 40, n: 4000 }) });
    assert.equal(t.code, 0, t.stderr);
    const p = await run('python3', ['predict.py'], { cwd: EXAMPLE, env: env({ model_path: join(out, 'model.json'), n: 500 }) });
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /using the model in/);
    const rows = readFileSync(join(out, 'predictions.csv'), 'utf8').trim().split('\n');
    assert.equal(rows.length, 501);
    assert.equal(rows[0], 'distance_km,rush_hour,traffic,night,predicted_correction_min');
    const rmse = metrics(p.stdout).find((m) => m.name === 'rmse')!;
    assert.ok(rmse.value < 2, `rmse of the lax model on lax trips: ${rmse.value}`);
    const fresh = await run('python3', [join(EXAMPLE, 'predict.py')], { cwd: out, env: env({ n: 50 }) });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, /no saved model: fitting one/);
  });

  it('ships a valid nbformat-4 notebook whose code cells run', async () => {
    const nb = JSON.parse(readFileSync(join(EXAMPLE, 'notebook.ipynb'), 'utf8'));
    assert.equal(nb.nbformat, 4);
    assert.ok(nb.nbformat_minor >= 5);
    assert.equal(nb.metadata.kernelspec.name, 'python3');
    for (const c of nb.cells) {
      assert.ok(['markdown', 'code'].includes(c.cell_type));
      assert.match(c.id, /^[a-zA-Z0-9-_]{1,64}$/);
      if (c.cell_type === 'code') assert.deepEqual([c.outputs, c.execution_count], [[], null]);
    }
    const code = nb.cells.filter((c: { cell_type: string }) => c.cell_type === 'code').map((c: { source: string[] }) => c.source.join('')).join('\n\n');
    const r = await run('python3', ['-c', code], { cwd: EXAMPLE, env: env({ epochs: 5, n: 2000 }) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(metrics(r.stdout).filter((m) => m.name === 'rmse').length, 5);
    assert.match(r.stdout, /validation rmse: \d/);
  });

  it('has a two-line README and a .gitignore for outputs', () => {
    assert.equal(readFileSync(join(EXAMPLE, 'README.md'), 'utf8').trim().split('\n').length, 2);
    assert.match(readFileSync(join(EXAMPLE, '.gitignore'), 'utf8'), /^output\/$/m);
    assert.equal(existsSync(join(EXAMPLE, 'output')), false, 'tests must not write into the example');
    assert.ok(!readdirSync(EXAMPLE).includes('__pycache__'));
  });
});

describe('python/trainyard', () => {
  const py = (code: string, extra: NodeJS.ProcessEnv = {}) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH, PYTHONDONTWRITEBYTECODE: '1', ...extra };
    for (const k of ['TRAINYARD_PARAMS', 'TRAINYARD_OUTPUT_DIR', 'TRAINYARD_RUN_ID']) if (!(k in extra)) delete env[k];
    return run('python3', ['-c', `import trainyard\n${code}`], { env, cwd: tmpdir() });
  };

  it('params(): the JSON object, {} when unset, a clear error otherwise', async () => {
    assert.equal((await py('print(trainyard.params())')).stdout.trim(), '{}');
    assert.equal((await py('print(trainyard.params()["region"])', { TRAINYARD_PARAMS: '{"region":"sfo","lr":0.1}' })).stdout.trim(), 'sfo');
    assert.match((await py('trainyard.params()', { TRAINYARD_PARAMS: '{nope' })).stderr, /TRAINYARD_PARAMS is not valid JSON/);
    assert.match((await py('trainyard.params()', { TRAINYARD_PARAMS: '[1]' })).stderr, /must be a JSON object, got list/);
  });

  it('log_metric(): one flushed line per call in the contract format, validating its input', async () => {
    const r = await py('trainyard.log_metric("rmse", 0.31, step=3)\ntrainyard.log_metric("n", 7)');
    assert.equal(r.stdout, '::trainyard:metric {"name":"rmse","value":0.31,"step":3}\n::trainyard:metric {"name":"n","value":7}\n');
    assert.deepEqual(parseMetricLine(r.stdout.split('\n')[0]), { name: 'rmse', value: 0.31, step: 3 });
    for (const [call, msg] of [
      ['trainyard.log_metric("", 1)', /non-empty string/],
      ['trainyard.log_metric("x", float("nan"))', /must be finite/],
      ['trainyard.log_metric("x", True)', /must be a number, got bool/],
      ['trainyard.log_metric("x", "abc")', /must be a number, got str/],
      ['trainyard.log_metric("x", 1, step=-1)', /non-negative integer/],
      ['trainyard.log_metric("x", 1, step=1.5)', /non-negative integer/],
    ] as const) {
      const e = await py(call);
      assert.notEqual(e.code, 0, call);
      assert.match(e.stderr, msg, call);
      assert.equal(e.stdout, '', `${call} printed something`);
    }
  });

  it('output_dir() and run_id()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ty-out-'));
    try {
      const r = await py('import os\np = trainyard.output_dir()\nprint(p, os.path.isdir(p), trainyard.run_id())', { TRAINYARD_OUTPUT_DIR: join(dir, 'a', 'b'), TRAINYARD_RUN_ID: 'run_1' });
      assert.equal(r.stdout.trim(), `${join(dir, 'a', 'b')} True run_1`);
      const d = await run('python3', ['-c', 'import trainyard, os; print(trainyard.output_dir(), trainyard.run_id())'], { cwd: dir, env: { PATH: process.env.PATH, PYTHONPATH, PYTHONDONTWRITEBYTECODE: '1' } });
      assert.equal(d.stdout.trim(), `${join(dir, 'output')} None`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
