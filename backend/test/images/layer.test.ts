/** The deterministic layer writer: same entries ⇒ same digests; tar details fixed. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, utimesSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { OciLayoutStore } from '../../src/images/oci-layout';
import { normalizeImagePath, planLayer, SourceChangedError, writeLayer, type LayerEntry } from '../../src/images/layer';
import { statKey } from '@trainyard/shared/snapshot/hash-cache';
import { readLayer } from '../../src/images/layer-read';
import { PieceCache } from '../../src/images/compression';
import { ByteLru } from '../../src/images/byte-lru';
import { listLayer, tempDir } from './helpers';

describe('images/layer', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => (t = tempDir('layer')));
  afterEach(() => t.cleanup());

  const entries = (dir: string): LayerEntry[] => [
    { type: 'file', path: 'app/z.py', mode: 0o644, source: { file: join(dir, 'z.py') } },
    { type: 'file', path: 'app/sub/a.py', mode: 0o755, source: { data: Buffer.from('print("a")\n') } },
    { type: 'file', path: 'app/ünïcode-and-a-very-long-name-'.padEnd(150, 'x') + '.txt', mode: 0o644, source: { data: Buffer.from('long') } },
    { type: 'symlink', path: 'opt/bin/python', target: '../../usr/bin/python3' },
  ];

  it('writes the same digests for the same entries, whatever the files\' mtimes', async () => {
    writeFileSync(join(t.dir, 'z.py'), 'print("z")\n');
    const a = await writeLayer(new OciLayoutStore(join(t.dir, 's1')), entries(t.dir));
    utimesSync(join(t.dir, 'z.py'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    chmodSync(join(t.dir, 'z.py'), 0o600); // the entry's mode counts, not the file's
    const b = await writeLayer(new OciLayoutStore(join(t.dir, 's2')), [...entries(t.dir)].reverse());
    assert.deepEqual(b, a);
    // a one-byte change gives another layer
    writeFileSync(join(t.dir, 'z.py'), 'print("Z")\n');
    const c = await writeLayer(new OciLayoutStore(join(t.dir, 's3')), entries(t.dir));
    assert.notEqual(c.digest, a.digest);
    assert.notEqual(c.diffId, a.diffId);
  });

  it('hashes a file read in place again unless it still has the stat key it was verified under', async () => {
    const file = join(t.dir, 'dep.py');
    writeFileSync(file, 'VERSION = 1\n');
    const sha = createHash('sha256').update('VERSION = 1\n').digest('hex');
    const entry = (source: { file: string; sha256: string; statKey?: string }): LayerEntry[] => [{ type: 'file', path: 'site/dep.py', mode: 0o644, source }];
    const store = new OciLayoutStore(join(t.dir, 's'));
    const verified = await writeLayer(store, entry({ file, sha256: sha }));
    // same content, verified stat key: the same layer (the bytes are taken as hashed before)
    const key = statKey(statSync(file, { bigint: true }));
    assert.deepEqual(await writeLayer(store, entry({ file, sha256: sha, statKey: key })), verified);
    // the stat key is what vouches: with it, the bytes are not hashed again (a wrong sha256 goes unnoticed, as in the hash caches)
    assert.deepEqual(await writeLayer(store, entry({ file, sha256: 'f'.repeat(64), statKey: key })), verified);
    await assert.rejects(writeLayer(store, entry({ file, sha256: 'f'.repeat(64) })), SourceChangedError);
    // changed since it was verified (same size): the stat key differs, so the bytes are hashed and refused
    writeFileSync(file, 'VERSION = 2\n');
    await assert.rejects(writeLayer(store, entry({ file, sha256: sha, statKey: key })), SourceChangedError);
    // and a stat key that is not the file's never vouches for its bytes
    await assert.rejects(writeLayer(store, entry({ file, sha256: sha, statKey: '12:0:0:0:0' })), SourceChangedError);
  });

  it('stops when its signal aborts: rejects with the reason, stores no blob, drops its upload, leaves no temp file', async () => {
    const big = join(t.dir, 'big.bin');
    writeFileSync(big, randomBytes(16 << 20));
    const store = new OciLayoutStore(join(t.dir, 's'));
    const tmp = join(t.dir, 'tmp');
    mkdirSync(tmp);
    const many: LayerEntry[] = [{ type: 'file', path: 'big.bin', mode: 0o644, source: { file: big } }, ...Array.from({ length: 200 }, (_, i) => ({ type: 'file' as const, path: `f${i}`, mode: 0o644, source: { data: Buffer.from(`${i}`) } }))];
    for (const when of ['before', 'during'] as const) {
      const stop = new AbortController();
      let dropped = 0;
      // during: once the first compressed bytes go out, with the big file's bytes still being read
      const upload = () => ({ write: async () => void (when === 'during' && stop.abort(new Error('stopped during'))), finish: async () => true, abort: () => void dropped++ });
      if (when === 'before') stop.abort(new Error('stopped before'));
      const writing = writeLayer(store, many, { tmpDir: tmp, upload, signal: stop.signal });
      await assert.rejects(writing, new RegExp(`stopped ${when}`));
      assert.equal(dropped, 1, `${when}: the upload is dropped`);
      assert.deepEqual(readdirSync(tmp), [], `${when}: no temp file left`);
      assert.ok(!existsSync(join(t.dir, 's', 'blobs')) || readdirSync(join(t.dir, 's', 'blobs', 'sha256')).length === 0, `${when}: no blob stored`);
    }
    // the same entries without a signal make a layer
    assert.ok(await store.hasBlob((await writeLayer(store, many, { tmpDir: tmp })).digest));
  });

  it('stops with the signal\'s reason when it aborts while an upload write waits (the feed meets the destroyed pack before the pipeline ends)', async () => {
    const big = join(t.dir, 'big.bin');
    writeFileSync(big, randomBytes(2 << 20)); // read as a stream: stat, then its tar entry, after the abort
    const store = new OciLayoutStore(join(t.dir, 's'));
    const tmp = join(t.dir, 'tmp');
    mkdirSync(tmp);
    const stop = new AbortController();
    let dropped = 0;
    // as a registry upload under backpressure: the write that sees the abort is not done for a while
    const upload = () => ({ write: async () => { stop.abort(new Error('stopped while uploading')); await new Promise((r) => setTimeout(r, 100)); }, finish: async () => true, abort: () => void dropped++ });
    await assert.rejects(writeLayer(store, [{ type: 'file', path: 'big.bin', mode: 0o644, source: { file: big } }], { tmpDir: tmp, upload, signal: stop.signal }), /stopped while uploading/);
    assert.equal(dropped, 1, 'the upload is dropped');
    assert.deepEqual(readdirSync(tmp), [], 'no temp file left');
    assert.ok(!existsSync(join(t.dir, 's', 'blobs')) || readdirSync(join(t.dir, 's', 'blobs', 'sha256')).length === 0, 'no blob stored');
  });

  it('ends its compression pieces after the entries cutAfter names: the same tar, another blob, read by gzip(1) and tar(1); a PieceCache compresses again only the piece an edit changed', async () => {
    const files = Array.from({ length: 60 }, (_, i) => `app/m${String(i).padStart(2, '0')}.py`);
    const es = (edit = ''): LayerEntry[] => [
      ...files.map((path, i) => ({ type: 'file' as const, path, mode: 0o644, source: { data: Buffer.from(`def f${i}(x):\n    return x * ${i}\n`.repeat(40) + (i === 33 ? edit : '')) } })),
      { type: 'symlink', path: 'opt/bin/python', target: '../../usr/bin/python3' },
    ];
    const cutAfter = (path: string) => path.endsWith('9.py'); // m09, m19 … m59: six groups, and the one after m59
    const store = new OciLayoutStore(join(t.dir, 's'));
    const whole = await writeLayer(store, es());
    const cut = await writeLayer(store, es(), { cutAfter });
    assert.equal(cut.diffId, whole.diffId, 'the same tar');
    assert.notEqual(cut.digest, whole.digest);
    const blob = store.blobPath(cut.digest);
    assert.equal(`sha256:${createHash('sha256').update(execFileSync('gzip', ['-dc', blob])).digest('hex')}`, cut.diffId, 'gzip(1) reads the tar');
    assert.deepEqual(execFileSync('tar', ['-tzf', blob], { encoding: 'utf8' }).trim().split('\n'), ['app', ...files, 'opt', 'opt/bin', 'opt/bin/python']);

    const cache = new PieceCache(1 << 20);
    assert.deepEqual(await writeLayer(store, es(), { cutAfter, pieceCache: cache }), cut);
    assert.deepEqual([cache.hits, cache.misses], [0, 7]);
    assert.deepEqual(await writeLayer(store, es(), { cutAfter, pieceCache: cache }), cut);
    assert.deepEqual([cache.hits, cache.misses], [7, 7]);
    const edited = await writeLayer(store, es('# an edit\n'), { cutAfter, pieceCache: cache });
    assert.deepEqual([cache.hits, cache.misses], [13, 8], 'only the piece of m30-m39 again');
    assert.deepEqual(edited, await writeLayer(new OciLayoutStore(join(t.dir, 's2')), es('# an edit\n'), { cutAfter }));
  });

  it('with a group cache, reads only the files of groups it has not written before; a group with a file not named by sha256 is always read', async () => {
    const store = new OciLayoutStore(join(t.dir, 's'));
    const src = join(t.dir, 'src');
    mkdirSync(src);
    const names = Array.from({ length: 30 }, (_, i) => `m${String(i).padStart(2, '0')}.py`);
    const text = (i: number, edit = '') => `def f${i}(x):\n    return x * ${i}\n${edit}`;
    names.forEach((n, i) => writeFileSync(join(src, n), text(i)));
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const es = (named: (i: number) => string | undefined): LayerEntry[] =>
      names.map((n, i) => ({ type: 'file', path: `app/${n}`, mode: 0o644, source: { file: join(src, n), ...(named(i) ? { sha256: named(i) } : {}) } }));
    const cutAfter = (path: string) => path.endsWith('9.py'); // groups: app + m00-m09, m10-m19, m20-m29
    const groups = new ByteLru(1 << 20);
    const first = await writeLayer(store, es((i) => sha(text(i))), { cutAfter, groupCache: groups });
    assert.deepEqual([groups.hits, groups.misses], [0, 3]);
    // m15 edited; m03 and m25 removed from disk: their groups are given back, unread
    writeFileSync(join(src, 'm15.py'), text(15, '# an edit\n'));
    rmSync(join(src, 'm03.py'));
    rmSync(join(src, 'm25.py'));
    const named = (i: number) => sha(i === 15 ? text(15, '# an edit\n') : text(i));
    const second = await writeLayer(store, es(named), { cutAfter, groupCache: groups });
    assert.deepEqual([groups.hits, groups.misses], [2, 4]);
    assert.notEqual(second.digest, first.digest);
    writeFileSync(join(src, 'm03.py'), text(3));
    writeFileSync(join(src, 'm25.py'), text(25));
    assert.deepEqual(second, await writeLayer(new OciLayoutStore(join(t.dir, 's2')), es(named), { cutAfter }), 'the bytes a write without the cache makes');
    // m15's group is read again when an entry is not named by sha256, and what it reads is what goes in
    writeFileSync(join(src, 'm15.py'), text(15, '# another edit\n'));
    const unnamed = await writeLayer(store, es((i) => (i === 15 ? undefined : named(i))), { cutAfter, groupCache: groups });
    assert.deepEqual([groups.hits, groups.misses], [4, 4], 'not kept either');
    assert.match(execFileSync('tar', ['-xzOf', store.blobPath(unnamed.digest), 'app/m15.py'], { encoding: 'utf8' }), /# another edit/);
  });

  it('stops when its signal aborts with cutAfter too, also with the feed some groups on', async () => {
    const store = new OciLayoutStore(join(t.dir, 's'));
    const tmp = join(t.dir, 'tmp');
    mkdirSync(tmp);
    const many: LayerEntry[] = Array.from({ length: 300 }, (_, i) => ({ type: 'file' as const, path: `f${String(i).padStart(3, '0')}`, mode: 0o644, source: { data: randomBytes(4096) } }));
    const cutAfter = (p: string) => p.endsWith('0'); // 30 groups
    let all = 0;
    await writeLayer(store, many, { tmpDir: tmp, cutAfter, upload: () => ({ write: async () => void all++, finish: async () => true, abort: () => undefined }) });
    // each upload write takes a while, so the feed waits on the compressed bytes going out: halfway through them, it is in a later group
    for (const after of [1, Math.floor(all / 2)]) {
      const stop = new AbortController();
      let writes = 0;
      let dropped = 0;
      const write = async () => {
        if (++writes === after) stop.abort(new Error(`stopped at write ${after}`));
        await new Promise((r) => setTimeout(r, 2));
      };
      const upload = () => ({ write, finish: async () => true, abort: () => void dropped++ });
      await assert.rejects(writeLayer(store, many, { tmpDir: tmp, upload, signal: stop.signal, cutAfter }), new RegExp(`stopped at write ${after}$`));
      assert.equal(dropped, 1);
      assert.deepEqual(readdirSync(tmp), [], 'no temp file left');
    }
  });

  it('returns digest, diffId and size that match the stored blob', async () => {
    writeFileSync(join(t.dir, 'z.py'), 'x');
    const store = new OciLayoutStore(join(t.dir, 's'));
    const l = await writeLayer(store, entries(t.dir));
    const blob = readFileSync(store.blobPath(l.digest));
    assert.equal(blob.length, l.size);
    assert.equal(`sha256:${createHash('sha256').update(blob).digest('hex')}`, l.digest);
    assert.equal(`sha256:${createHash('sha256').update(gunzipSync(blob)).digest('hex')}`, l.diffId);
    // gzip header: no name flag, mtime 0
    assert.equal(blob[3] & 0x08, 0, 'FNAME flag set');
    assert.equal(blob.readUInt32LE(4), 0, 'gzip mtime is not 0');
  });

  it('sorts entries, emits parents, fixes mtime/owner', async () => {
    writeFileSync(join(t.dir, 'z.py'), 'x');
    const store = new OciLayoutStore(join(t.dir, 's'));
    const l = await writeLayer(store, entries(t.dir));
    const list = await listLayer(store, l.digest);
    const names = list.map((e) => e[0].replace(/\/$/, ''));
    assert.deepEqual(names.slice(0, 3), ['app', 'app/sub', 'app/sub/a.py']);
    assert.deepEqual(names.slice(-3), ['opt', 'opt/bin', 'opt/bin/python']);
    assert.deepEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), names);
    for (const [name, type, mode, link, mtime, uid, gid] of list) {
      assert.equal(mtime, 0, name);
      assert.equal(uid, 0, name);
      assert.equal(gid, 0, name);
      if (type === 'directory') assert.equal(mode, 0o755, name);
      if (name === 'app/sub/a.py') assert.equal(mode, 0o755);
      if (name === 'app/z.py') assert.equal(mode, 0o644);
      if (type === 'symlink') assert.equal(link, '../../usr/bin/python3');
    }
    assert.ok(names.some((n) => n.startsWith('app/ünïcode')), 'long non-ASCII name kept');
  });

  it('strips setuid and setgid bits: a workspace file chmod 4755 is 0755 in the layer, a 3775 folder 1775 (sticky kept)', async () => {
    writeFileSync(join(t.dir, 'z.py'), 'x');
    chmodSync(join(t.dir, 'z.py'), 0o4755);
    const st = statSync(join(t.dir, 'z.py'));
    assert.equal(st.mode & 0o7777, 0o4755, 'the workspace file is setuid');
    const store = new OciLayoutStore(join(t.dir, 's'));
    const l = await writeLayer(store, [
      { type: 'file', path: 'app/z.py', mode: st.mode, source: { file: join(t.dir, 'z.py') } },
      { type: 'file', path: 'app/g.py', mode: 0o2711, source: { data: Buffer.from('g') } },
      { type: 'dir', path: 'app/shared', mode: 0o3775 },
    ]);
    const modes: Record<string, number> = {};
    for await (const e of readLayer(store, l)) {
      modes[e.header.name.replace(/\/$/, '')] = e.header.mode ?? -1;
      e.resume();
    }
    assert.deepEqual(modes, { app: 0o755, 'app/g.py': 0o711, 'app/shared': 0o1775, 'app/z.py': 0o755 });
  });

  it('refuses duplicates, ".." and files used as folders', () => {
    const f = (path: string): LayerEntry => ({ type: 'file', path, mode: 0o644, source: { data: Buffer.alloc(0) } });
    assert.throws(() => planLayer([f('a/b'), f('a/b')]), /listed twice/);
    assert.throws(() => planLayer([f('a/../b')]), /"\.\." segment/);
    assert.throws(() => planLayer([f('a'), f('a/b')]), /not a directory/);
    assert.deepEqual(planLayer([f('/x//y/')]).map((e) => e.path), ['x', 'x/y']);
    for (const bad of ['./a', 'a/.', 'a/./b', '..', 'a\0b', '/', '']) assert.throws(() => normalizeImagePath(bad), /segment|empty/, JSON.stringify(bad));
    for (const [given, want] of [['a/b', 'a/b'], ['/a/b/', 'a/b'], ['a//b', 'a/b'], ['.hidden/x', '.hidden/x'], ['a/..b/c.', 'a/..b/c.'], ['...', '...']]) assert.equal(normalizeImagePath(given), want);
    // parents: each once, also when an entry names one that a deeper entry reached first; a file above a folder is refused whatever the order
    const d = (path: string): LayerEntry => ({ type: 'dir', path, mode: 0o700 });
    assert.deepEqual(planLayer([f('p/q/r/s.py'), f('p/q/t.py'), d('p/q'), f('p/u/v.py')]).map((e) => `${e.type} ${e.path}${e.type === 'dir' && e.mode ? ` ${e.mode.toString(8)}` : ''}`),
      ['dir p', 'dir p/q 700', 'dir p/q/r', 'file p/q/r/s.py', 'file p/q/t.py', 'dir p/u', 'file p/u/v.py']);
    assert.throws(() => planLayer([f('a/b/c'), d('a/b'), f('a')]), /not a directory/);
    assert.throws(() => planLayer([d('a/b'), f('a/b/c'), f('a')]), /not a directory/);
  });
});
