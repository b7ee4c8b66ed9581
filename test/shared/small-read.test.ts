/** readSmallSync and SyncReads (shared/src/snapshot/small-read.ts): small files whole with their stats; blocking stops only where reads stay slow. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotRegularFile, readSmallSync, SyncReads } from '@trainyard/shared/snapshot/small-read';

describe('shared/small-read', () => {
  it('reads a small file whole with its stat before and after; a larger one is left to async reads; a FIFO is refused at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ty-small-read-'));
    try {
      writeFileSync(join(dir, 'a.py'), 'A = 1\n');
      writeFileSync(join(dir, 'big.bin'), Buffer.alloc(100));
      execFileSync('mkfifo', [join(dir, 'pipe')]);
      const reads = new SyncReads();
      const got = readSmallSync(join(dir, 'a.py'), reads)!;
      assert.equal(got.data.toString(), 'A = 1\n');
      assert.equal(got.before.size, 6n);
      assert.equal(got.after.mtimeNs, got.before.mtimeNs);
      assert.equal(readSmallSync(join(dir, 'big.bin'), reads, 99), undefined);
      assert.throws(() => readSmallSync(join(dir, 'pipe'), reads), NotRegularFile);
      assert.throws(() => readSmallSync(join(dir, 'missing'), reads), /ENOENT/);
      assert.equal(reads.blocking, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops blocking after three slow reads in a row or one stall, not after one slow read', () => {
    const one = new SyncReads();
    for (const ms of [0.1, 5, 0.1, 5, 5, 0.1]) one.took(ms);
    assert.equal(one.blocking, true, 'a page fault or a GC pause now and then');
    const nfs = new SyncReads();
    for (const ms of [3, 4, 3]) nfs.took(ms);
    assert.equal(nfs.blocking, false, 'reads that stay slow');
    const stall = new SyncReads();
    stall.took(80);
    assert.equal(stall.blocking, false, 'one read that holds the event loop for long');
  });
});
