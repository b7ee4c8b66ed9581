/** `trainyard open` and the serve banner print a dashboard link with the token in the fragment only. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/program';
import { loginUrl } from '../../src/cli/serving';
import { fakeDeps } from '../cli/fake-deps';

describe('trainyard open', () => {
  let home: string;
  const prevToken = process.env.TRAINYARD_TOKEN;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'ty-open-'));
    delete process.env.TRAINYARD_TOKEN;
  });
  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
    if (prevToken === undefined) delete process.env.TRAINYARD_TOKEN;
    else process.env.TRAINYARD_TOKEN = prevToken;
  });

  it('prints the login link with the token after # (never in the path or query)', async () => {
    writeFileSync(join(home, 'token'), 'ty_abc+/=\n');
    const deps = { ...fakeDeps({ health: async () => ({ ok: true, version: '0.1.0' }) }), home };
    assert.equal(await runCli(['open', '--no-browser'], deps), 0);
    const line = deps.stdout.find((l) => l.startsWith('dashboard:'))!;
    assert.equal(line, 'dashboard: http://127.0.0.1:9/#token=ty_abc%2B%2F%3D');
    const url = new URL(line.slice('dashboard: '.length));
    assert.equal(url.pathname, '/');
    assert.equal(url.search, '');
  });

  it('--json gives the link and says when the backend is down', async () => {
    writeFileSync(join(home, 'token'), 'ty_tok\n');
    const deps = { ...fakeDeps({ health: async () => { throw new Error('down'); } }), home };
    assert.equal(await runCli(['open', '--json'], deps), 0);
    const out = JSON.parse(deps.stdout.join('\n'));
    assert.equal(out.dashboardUrl, 'http://127.0.0.1:9/#token=ty_tok');
    assert.equal(out.backendUp, false);
  });

  it('without a token prints the plain URL and says where the token should be', async () => {
    const deps = { ...fakeDeps({ health: async () => ({ ok: true, version: '0.1.0' }) }), home };
    assert.equal(await runCli(['open', '--no-browser'], deps), 0);
    assert.ok(deps.stdout.includes('dashboard: http://127.0.0.1:9/'));
    assert.match(deps.stderr.join('\n'), /no token found/);
    assert.equal(loginUrl('http://h:1', null), 'http://h:1/');
  });
});
