/** statMany (shared/src/snapshot/stat-many.ts): many stats in order, null for what cannot be read, lstat on request, an early stop. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statMany } from '@trainyard/shared/snapshot/stat-many';
import { statKey } from '@trainyard/shared/snapshot/hash-cache';

describe('shared/stat-many', () => {
  it('answers each path in order across slices, null where it cannot be read, and stops when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ty-stat-many-'));
    try {
      const paths: string[] = [];
      for (let i = 0; i < 1200; i++) {
        const p = join(dir, `f${i}`);
        writeFileSync(p, 'x'.repeat(i % 7));
        paths.push(p);
      }
      paths.splice(700, 0, join(dir, 'missing'), join(dir, 'f1', 'not-a-folder'));
      symlinkSync(join(dir, 'f3'), join(dir, 'link'));
      paths.push(join(dir, 'link'));
      const all = await statMany(paths);
      assert.equal(all.length, paths.length);
      assert.deepEqual(all.map((s, i) => (s ? statKey(s) : null)), paths.map((p) => { try { return statKey(statSync(p, { bigint: true })); } catch { return null; } }));
      assert.equal(all[700], null);
      assert.equal(all[701], null, 'ENOTDIR reads as null');
      assert.ok(all.at(-1)!.isFile(), 'stat follows the link');
      assert.ok((await statMany([join(dir, 'link')], { link: true }))[0]!.isSymbolicLink(), 'lstat does not');

      const seen: number[] = [];
      const some = await statMany(paths, { stop: (st, i) => (seen.push(i), st === null) });
      assert.equal(seen.at(-1), 700, 'stopped at the first missing path, in the second slice');
      assert.equal(some[701], undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
