/**
 * The client's hash cache (shared/src/snapshot/hash-cache.ts, used by collectManifest): an
 * unchanged file is served from the cache without being read; any change is caught by its stat
 * key (size, mtime, ctime, inode, device), even a same-size edit whose mtime is put back with
 * utimes (ctime moves) or a replacement by rename (inode); a file written within RACY_MS of the
 * save is never cached.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectManifest } from '@trainyard/shared/snapshot/collect';
import { isCacheable, isSettled, RACY_MS, statsCacheable } from '@trainyard/shared/snapshot/hash-cache';
import { sha256Hex } from '@trainyard/shared/sha256';
import type { BigIntStats } from 'node:fs';
import { tempDir } from '../images/helpers';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('snapshot/hash cache', function () {
  this.timeout(30_000);
  let t: ReturnType<typeof tempDir>;
  let ws: string;
  let cache: string;
  const cacheFile = () => join(cache, readdirSync(cache).find((n) => n.endsWith('.json'))!);
  const readCache = () => JSON.parse(readFileSync(cacheFile(), 'utf8')) as { version: string; data: Record<string, [string, string, number, boolean]> };
  /** replaces every cached hash with a marker: what comes back with the marker was served from the cache */
  const poison = () => {
    const doc = readCache();
    for (const e of Object.values(doc.data)) e[1] = 'f'.repeat(64);
    writeFileSync(cacheFile(), JSON.stringify(doc));
  };
  const hashOf = async (rel: string) => (await collectManifest(ws, { git: false, hashCache: cache })).files.find((f) => f.path === rel)!.sha256;

  before(async () => {
    t = tempDir('hashcache');
    ws = join(t.dir, 'ws');
    cache = join(t.dir, 'cache');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(ws);
    writeFileSync(join(ws, 'a.py'), 'print("aaaa")\n');
    writeFileSync(join(ws, 'b.py'), 'print("bbbb")\n');
    writeFileSync(join(ws, 'c.py'), 'print("cccc")\n');
    // whole-second mtimes, so utimes can put them back exactly
    for (const n of ['a.py', 'b.py', 'c.py']) utimesSync(join(ws, n), new Date(2001, 1, 1), new Date(2001, 1, 1));
    await sleep(RACY_MS + 200); // older than the racy window: cacheable
  });
  after(() => t.cleanup());

  it('caches settled files outside the workspace and serves them without reading', async () => {
    const m = await collectManifest(ws, { git: false, hashCache: cache });
    assert.equal(m.files.find((f) => f.path === 'a.py')!.sha256, sha('print("aaaa")\n'));
    assert.equal(Object.keys(readCache().data).length, 3);
    assert.deepEqual(readdirSync(ws).sort(), ['a.py', 'b.py', 'c.py'], 'nothing is written into the workspace');
    poison();
    assert.equal(await hashOf('b.py'), 'f'.repeat(64), 'an unchanged file comes from the cache');
  });

  it('catches a same-size edit whose mtime is put back with utimes (ctime moves)', async () => {
    poison();
    const p = join(ws, 'a.py');
    const before = statSync(p);
    writeFileSync(p, 'print("AAAA")\n'); // same size
    utimesSync(p, before.atime, before.mtime);
    assert.equal(statSync(p).size, before.size);
    assert.equal(statSync(p).mtimeMs, before.mtimeMs);
    assert.equal(await hashOf('a.py'), sha('print("AAAA")\n'));
  });

  it('catches a file replaced by rename with the same size and mtime (inode)', async () => {
    poison();
    const p = join(ws, 'c.py');
    const before = statSync(p);
    writeFileSync(join(t.dir, 'c.new'), 'print("CCCC")\n');
    utimesSync(join(t.dir, 'c.new'), before.atime, before.mtime);
    renameSync(join(t.dir, 'c.new'), p);
    assert.equal(await hashOf('c.py'), sha('print("CCCC")\n'));
  });

  it('never caches a file written within the racy window', async () => {
    writeFileSync(join(ws, 'd.py'), 'print("dddd")\n');
    await collectManifest(ws, { git: false, hashCache: cache });
    assert.equal(readCache().data[join(ws, 'd.py')], undefined);
    poison();
    assert.equal(await hashOf('d.py'), sha('print("dddd")\n'), 'a racy file is read again');
    // and a file whose stat moved while it was read is not cacheable
    const now = BigInt(Date.now()) * 1_000_000n;
    const old = `10:${now - 10_000_000_000n}:${now - 10_000_000_000n}:1:1`;
    assert.equal(isCacheable(old, old, now), true);
    assert.equal(isCacheable(old, `10:${now}:${now}:1:1`, now), false);
    assert.equal(isSettled(`10:${now - 10_000_000_000n}:${now}:1:1`, now), false, 'a recent ctime alone makes it racy');
    // statsCacheable says what isCacheable says of the stats' keys
    const st = (k: string) => {
      const [size, mtimeNs, ctimeNs, ino, dev] = k.split(':').map(BigInt);
      return { size, mtimeNs, ctimeNs, ino, dev } as unknown as BigIntStats;
    };
    const keys = [old, `10:${now}:${now}:1:1`, `10:${now - 10_000_000_000n}:${now}:1:1`, `11:${now - 10_000_000_000n}:${now - 10_000_000_000n}:1:1`, `10:${now - 10_000_000_000n}:${now - 10_000_000_000n}:2:1`];
    for (const a of keys) for (const b of keys) assert.equal(statsCacheable(st(a), st(b), now), isCacheable(a, b, now), `${a} / ${b}`);
    // sha256Hex is the sha256 hex digest
    for (const data of ['', 'print(1)\n', Buffer.alloc(70_000, 7)]) assert.equal(sha256Hex(data), sha(data));
  });

  it('still finds secrets in files served from the cache only when they were scanned clean', async () => {
    await collectManifest(ws, { git: false, hashCache: cache });
    const p = join(ws, 'b.py');
    const before = statSync(p);
    writeFileSync(p, 'k="AKIAABCDEFGHIJKLMNOP"\n');
    utimesSync(p, before.atime, before.mtime);
    await assert.rejects(collectManifest(ws, { git: false, hashCache: cache }), /b\.py line 1 \(rule AWS access key id/);
  });
});
