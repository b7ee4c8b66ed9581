/** A team's admin token from TRAINYARD_TOKEN at start (a Secret in the Deployment), instead of the data-home token file. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, TrainyardClient } from '@trainyard/shared';
import { serverToken, tokenPath } from '../../src/auth/token';
import { removeHome, startTestBackend } from '../../../test/helpers/backend';

describe('admin token from TRAINYARD_TOKEN', () => {
  let home: string;
  beforeEach(() => (home = mkdtempSync(join(tmpdir(), 'ty-admin-'))));
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('is used as given and writes no token file; without it the data-home file is made', () => {
    const t = 'x'.repeat(40);
    assert.deepEqual(serverToken(home, { TRAINYARD_TOKEN: ` ${t}\n` }), { token: t, source: 'env' });
    assert.equal(existsSync(tokenPath(home)), false);
    const fromFile = serverToken(home, {});
    assert.equal(fromFile.source, 'file');
    assert.equal(existsSync(tokenPath(home)), true);
    assert.deepEqual(serverToken(home, { TRAINYARD_TOKEN: '' }), fromFile, 'an empty variable counts as unset');
  });

  it('refuses a token too short or with spaces, saying what to use', () => {
    assert.throws(() => serverToken(home, { TRAINYARD_TOKEN: 'secret' }), /TRAINYARD_TOKEN .* at least 32 characters without spaces/);
    assert.throws(() => serverToken(home, { TRAINYARD_TOKEN: `${'a'.repeat(20)} ${'b'.repeat(20)}` }), /without spaces/);
  });

  it('signs in the admin on a real backend, which makes people tokens with it', async () => {
    const prev = process.env.TRAINYARD_TOKEN;
    const token = `team-${'k'.repeat(40)}`;
    process.env.TRAINYARD_TOKEN = token;
    let b: Awaited<ReturnType<typeof startTestBackend>> | undefined;
    try {
      b = await startTestBackend();
    } finally {
      if (prev === undefined) delete process.env.TRAINYARD_TOKEN;
      else process.env.TRAINYARD_TOKEN = prev;
    }
    try {
      assert.equal(b.token, token);
      assert.equal(existsSync(tokenPath(b.home)), false, 'no token file in the data home');
      assert.deepEqual(await b.client.me(), { user: 'admin', admin: true, kind: 'home', tokenId: null, runId: null, expiresAt: null });
      const alice = await b.client.createToken({ user: 'alice' });
      assert.equal(alice.createdBy, 'admin');
      const wrong = new TrainyardClient({ baseUrl: b.url, token: 'y'.repeat(40) });
      await assert.rejects(wrong.me(), (e: unknown) => e instanceof ApiError && e.status === 401);
    } finally {
      await b.close();
      removeHome(b.home);
    }
  });
});
