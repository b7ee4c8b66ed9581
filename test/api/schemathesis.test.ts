/**
 * /openapi.json against the server, by schemathesis (from PyPI; scripts/setup-schemathesis.sh
 * makes its venv in ~/.cache/trainyard): every check, the coverage, fuzzing and stateful
 * phases (and the document's examples), a fixed seed and a bounded number of examples per
 * operation, against a real backend. The bar is zero failures. What a schema cannot state is
 * in schemathesis.toml, each rule with its reason.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, removeHome, startTestBackend, type TestBackend } from '../helpers/backend';

const SEED = 20261130;
const MAX_EXAMPLES = Number(process.env.TRAINYARD_SCHEMATHESIS_EXAMPLES ?? 6);

describe('OpenAPI document vs the server (schemathesis)', function () {
  this.timeout(10 * 60_000);
  let b: TestBackend;
  let st: string;
  let reports: string;

  before(async () => {
    st = execFileSync('bash', [join(REPO, 'scripts/setup-schemathesis.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    b = await startTestBackend();
    reports = mkdtempSync(join(tmpdir(), 'ty-schemathesis-'));
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
    if (reports) rmSync(reports, { recursive: true, force: true });
  });

  it('finds no place where the document and the server disagree', async () => {
    const env = {
      ...process.env,
      NO_COLOR: '1',
    };
    const args = [
      '--config-file', join(REPO, 'test/api/schemathesis.toml'),
      'run', `${b.url}/openapi.json`,
      '--header', `Authorization: Bearer ${b.token}`,
      '--checks', 'all',
      '--phases', 'examples,coverage,fuzzing,stateful',
      '--seed', String(SEED),
      '--max-examples', String(MAX_EXAMPLES),
      '--workers', '1',
      '--request-timeout', '30',
      '--generation-database', 'none',
      '--no-color',
      '--report', 'junit',
      '--report-dir', reports,
    ];
    // spawn, not execFileSync: the backend answers from this process's event loop
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(st, args, { env, cwd: reports, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, output }));
    });
    const cases = /(\d+) generated, (.*)/.exec(output);
    console.log(`      schemathesis: ${cases ? cases[0] : 'no case count'}; ${/=+ (.* in [\d.]+s) =+/.exec(output)?.[1] ?? ''}`);
    const first = Math.min(...['= ERRORS =', '= FAILURES ='].map((h) => output.indexOf(h)).filter((i) => i >= 0));
    const failures = Number.isFinite(first) ? output.slice(first, output.indexOf('= SUMMARY =')) : '';
    assert.equal(code, 0, `schemathesis found disagreements:\n${failures || output.slice(-6000)}`);
    assert.ok(cases && Number(cases[1]) > 300, `schemathesis generated too few cases to mean anything:\n${output.slice(-3000)}`);
    assert.match(output, /Stateful/, 'the stateful phase ran');
  });
});
