/**
 * The server extension's pytest suite (jupyterlab-ext/tests: pytest-jupyter fixtures, a real
 * backend) run from mocha so its cases join `npm test`'s summary: pytest runs once at load with a
 * JUnit XML report, and each pytest case becomes one mocha test that passes, fails with pytest's
 * message, or is skipped as pytest skipped it. If pytest cannot run at all, one test fails saying why.
 * The venv and the installed wheel come from scripts/setup-jupyterlab.sh (scripts/test.sh runs it).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/backend';

interface Case { name: string; status: 'passed' | 'failed' | 'skipped'; message: string }

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#10;/g, '\n').replace(/&amp;/g, '&');
}

export function parseJunit(xml: string): Case[] {
  const out: Case[] = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const attr = (n: string) => unescapeXml(new RegExp(`\\b${n}="([^"]*)"`).exec(m![1])?.[1] ?? '');
    const body = m[3] ?? '';
    const bad = /<(failure|error)\b([^>]*)>([\s\S]*?)<\/\1>|<(failure|error)\b([^>]*)\/>/.exec(body);
    const skipped = /<skipped\b([^>]*)/.exec(body);
    const name = `${attr('classname').replace(/^tests\./, '')} :: ${attr('name')}`;
    if (bad) out.push({ name, status: 'failed', message: unescapeXml(`${/message="([^"]*)"/.exec(bad[2] ?? bad[5] ?? '')?.[1] ?? ''}\n${bad[3] ?? ''}`).trim() });
    else if (skipped) out.push({ name, status: 'skipped', message: unescapeXml(/message="([^"]*)"/.exec(skipped[1])?.[1] ?? '') });
    else out.push({ name, status: 'passed', message: '' });
  }
  return out;
}

async function runPytest(): Promise<{ cases: Case[]; error: string | null; ms: number }> {
  const started = Date.now();
  let venv: string;
  try {
    venv = execFileSync('bash', [join(REPO, 'scripts/setup-jupyterlab.sh'), 'venv'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  } catch (err) {
    return { cases: [], error: `scripts/setup-jupyterlab.sh venv failed: ${(err as Error).message}`, ms: 0 };
  }
  const pytest = join(venv, 'bin/pytest');
  if (!existsSync(pytest)) return { cases: [], error: `${pytest} is missing: run bash scripts/setup-jupyterlab.sh`, ms: 0 };
  const dir = mkdtempSync(join(tmpdir(), 'ty-pytest-'));
  const xml = join(dir, 'junit.xml');
  const output = await new Promise<string>((resolve) => {
    execFile(pytest, ['-q', '-p', 'no:cacheprovider', '--junitxml', xml, 'tests'], {
      cwd: join(REPO, 'jupyterlab-ext'), maxBuffer: 64 * 1024 * 1024, timeout: 600000,
      env: { ...process.env, TMPDIR: dir, TRAINYARD_TEST_NODE: process.execPath },
    }, (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`));
  });
  try {
    if (!existsSync(xml)) return { cases: [], error: `pytest wrote no report:\n${output.slice(-4000)}`, ms: Date.now() - started };
    const cases = parseJunit(readFileSync(xml, 'utf8'));
    if (!cases.length) return { cases, error: `pytest ran no tests:\n${output.slice(-4000)}`, ms: Date.now() - started };
    return { cases, error: null, ms: Date.now() - started };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const result = await runPytest();

describe(`jupyterlab-ext pytest (server extension; ${result.cases.length} cases in ${(result.ms / 1000).toFixed(1)} s)`, () => {
  if (result.error) {
    it('pytest runs', () => assert.fail(result.error!));
    return;
  }
  for (const c of result.cases) {
    it(c.name, function () {
      if (c.status === 'skipped') this.skip();
      if (c.status === 'failed') assert.fail(c.message);
    });
  }
});
