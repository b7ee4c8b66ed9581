/**
 * HashedFiles: an output file hashed before and unchanged since is not read again; one written
 * since (even with its old size and mtime put back), or written too recently to trust its
 * timestamps, is read again.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RACY_MS } from '@trainyard/shared/snapshot/hash-cache';
import { HashedFiles } from '../../src/artifacts/hashed-files';
import { hashFile } from '../../src/artifacts/oci-artifact';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('artifacts: files hashed before are not read again while unchanged', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'ty-hashed-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a just-written file every time, a settled one once, and a rewritten one again', async function () {
    this.timeout(20_000);
    const reads: string[] = [];
    const hashed = new HashedFiles((p) => (reads.push(p), hashFile(p)));
    const file = join(dir, 'model.bin');
    writeFileSync(file, 'weights v1');

    // written within RACY_MS: its timestamps cannot be trusted yet
    assert.deepEqual(await hashed.hash(file), { sha256: sha('weights v1'), size: 10 });
    assert.deepEqual(await hashed.hash(file), { sha256: sha('weights v1'), size: 10 });
    assert.equal(reads.length, 2);

    await sleep(RACY_MS + 200);
    assert.equal((await hashed.hash(file)).sha256, sha('weights v1'));
    assert.equal(reads.length, 3);
    assert.deepEqual(await hashed.hash(file), { sha256: sha('weights v1'), size: 10 }, 'settled and unchanged: known');
    assert.equal(reads.length, 3, 'not read again');

    // same size, mtime put back: the ctime still moved, so it is read again
    const st = statSync(file);
    writeFileSync(file, 'weights v2');
    utimesSync(file, st.atime, st.mtime);
    assert.equal((await hashed.hash(file)).sha256, sha('weights v2'));
    assert.equal(reads.length, 4);
  });
});
