import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureToken, readToken, tokenPath, tokensEqual } from '../../src/auth/token';

describe('bearer token', () => {
  let home: string;
  beforeEach(() => (home = mkdtempSync(join(tmpdir(), 'ty-token-'))));
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('is created at first start with mode 0600 and reused after', () => {
    const t = ensureToken(home);
    assert.match(t, /^ty_[A-Za-z0-9_-]{40,}$/);
    assert.equal(statSync(tokenPath(home)).mode & 0o777, 0o600);
    assert.equal(ensureToken(home), t);
    const prev = process.env.TRAINYARD_TOKEN;
    delete process.env.TRAINYARD_TOKEN;
    try {
      assert.equal(readToken(home), t);
    } finally {
      if (prev !== undefined) process.env.TRAINYARD_TOKEN = prev;
    }
  });

  it('tightens a token file others can read, and replaces one too short to be a token', () => {
    const t = ensureToken(home);
    chmodSync(tokenPath(home), 0o644);
    assert.equal(ensureToken(home), t);
    assert.equal(statSync(tokenPath(home)).mode & 0o777, 0o600);
    writeFileSync(tokenPath(home), 'short\n');
    assert.notEqual(ensureToken(home), 'short');
  });

  it('compares in constant time and rejects different lengths', () => {
    assert.equal(tokensEqual('abc', 'abc'), true);
    assert.equal(tokensEqual('abc', 'abd'), false);
    assert.equal(tokensEqual('abc', 'abcd'), false);
  });
});
