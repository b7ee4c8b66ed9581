/**
 * The local fast path (snapshots/local-files.ts): a backend on loopback reads workspace files
 * in place, verifying each hash; the same save over uploads gives the same image; a path
 * whose bytes do not hash to the sha256 is never taken, and says nothing about the file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateSnapshot } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { HttpError } from '../../src/errors';
import { readLayer } from '../../src/images/layer-read';
import { DEFER_MIN, LocalSources, VerifiedFiles, verifyLocalFile } from '../../src/snapshots/local-files';
import { RACY_MS } from '@trainyard/shared/snapshot/hash-cache';
import { MAX_IN_PLACE_FILES } from '@trainyard/shared/snapshot/in-place';
import { startTestBackend, removeHome } from '../../../test/helpers/backend';
import { harness, type Harness } from './helpers';

const hex = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

function workspace(dir: string, files: Record<string, string>): string {
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

const configDigest = async (h: Harness, model: string, label: string) => {
  const m = await h.ctx.images.getManifest(model, label);
  return (JSON.parse(m!.bytes.toString('utf8')) as { config: { digest: string } }).config.digest;
};

describe('snapshots: the local fast path', function () {
  this.timeout(60_000);
  let h: Harness;
  beforeEach(async () => (h = await harness('sqlite', 8 << 20, { localFiles: true })));
  afterEach(async () => h.close());

  it('VerifiedFiles finds a path by sha256 as files are verified again, changed and dropped', () => {
    const v = new VerifiedFiles();
    v.set('/a', ['k1', 'A']).set('/b', ['k2', 'A']);
    assert.equal(v.pathOf('A'), '/b', 'the path verified last');
    v.set('/b', ['k3', 'B']); // /b now holds other bytes
    assert.deepEqual([v.pathOf('A'), v.pathOf('B')], [undefined, '/b'], '/a is not found again: only the last path of a sha256 is indexed');
    v.set('/a', ['k4', 'A']);
    v.delete('/b');
    assert.deepEqual([v.pathOf('A'), v.pathOf('B'), v.size], ['/a', undefined, 1]);
    v.clear();
    assert.equal(v.pathOf('A'), undefined);
  });

  it('reads the files in place (nothing uploaded, nothing staged) and builds the same image as an upload does', async () => {
    const ws = workspace(join(h.dir, 'ws'), { 'train.py': 'print("train")\n', 'lib/a.py': 'A = 1\n', 'big.bin': 'x'.repeat(300_000) });
    const local = await saveWorkspace(h.client, { dir: ws, model: 'mm', version: 'local', cacheDir: false });
    assert.equal(local.localFiles, 3);
    assert.equal(local.uploadedFiles, 0);
    assert.ok(!existsSync(h.ctx.dirs.blobs) || readdirSync(h.ctx.dirs.blobs, { withFileTypes: true }).every((e) => !e.isFile()), 'no blob staged');
    const uploaded = await saveWorkspace(h.client, { dir: ws, model: 'mm', version: 'uploaded', cacheDir: false, localFiles: false });
    assert.equal(uploaded.uploadedFiles, 3);
    assert.equal(await configDigest(h, 'mm', 'local'), await configDigest(h, 'mm', 'uploaded'), 'same layers either way');
  });

  it('a re-save sends only the changed file: unchanged files verified before are read in place again', async () => {
    const ws = workspace(join(h.dir, 'ws'), { 'train.py': 'print(1)\n', 'a.py': 'A\n', 'b.py': 'B\n' });
    await new Promise((r) => setTimeout(r, RACY_MS + 100)); // settled files are remembered by their stat
    const first = await saveWorkspace(h.client, { dir: ws, model: 'mm', version: 'v1', cacheDir: false });
    assert.equal(first.localFiles, 3);
    writeFileSync(join(ws, 'a.py'), 'A2\n');
    const second = await saveWorkspace(h.client, { dir: ws, model: 'mm', version: 'v2', cacheDir: false });
    assert.deepEqual([second.localFiles, second.uploadedFiles], [1, 0], 'only a.py is sent');
    // a.py was written just now: it is verified on each save until it is verified with settled timestamps
    await new Promise((r) => setTimeout(r, RACY_MS + 100));
    const settled = await saveWorkspace(h.client, { dir: ws, model: 'mm', version: 'v2b', cacheDir: false });
    assert.deepEqual([settled.localFiles, settled.uploadedFiles], [1, 0]);
    const third = await saveWorkspace(h.client, { dir: ws, model: 'mm', version: 'v3', cacheDir: false });
    assert.deepEqual([third.localFiles, third.uploadedFiles], [0, 0], 'nothing sent');
    assert.equal(third.version.fileCount, 3);
    assert.equal(await configDigest(h, 'mm', 'v3'), await configDigest(h, 'mm', 'v2'), 'same files, same image');
  });

  it('takes environment files it verified before only once the build needs them (a re-save whose dependency layer is remembered: none)', async () => {
    const file = join(h.dir, 'site', 'dep', 'core.py');
    workspace(join(h.dir, 'site'), { 'dep/core.py': 'CORE = 1\n' });
    const sha = hex('CORE = 1\n');
    await new Promise((r) => setTimeout(r, RACY_MS + 100)); // settled: remembered by its stat
    const sources = new LocalSources();
    assert.deepEqual(await sources.verifyAndTake('first', [{ sha256: sha, path: file }], 1 << 20), [sha]);
    const manifest = {
      model: 'mm', files: [], entrypoints: { train: 'true' },
      environment: { python: '3.11.2', implementation: 'cpython', platform: 'linux', machine: 'x86_64', abi: 'cpython-311-x86_64-linux-gnu', distributions: [{ name: 'dep', version: '1', files: [{ path: 'dep/core.py', sha256: sha, size: 9, mode: 0o644 }] }] },
    } as CreateSnapshot;
    const offered = [{ sha256: sha, path: file }];
    assert.deepEqual(await sources.takeOffered('none-needed', manifest, offered, Promise.resolve([]), 1 << 20), []);
    assert.equal(sources.get('none-needed').has(sha), false, 'not looked at: the build does not need it');
    assert.deepEqual(await sources.takeOffered('needed', manifest, offered, Promise.resolve([sha]), 1 << 20), []);
    assert.equal(sources.get('needed').has(sha), true, 'needed: taken by its unchanged stat, without reading it');
    writeFileSync(file, 'CORE = 2\n');
    assert.deepEqual(await sources.takeOffered('changed', manifest, offered, Promise.resolve([sha]), 1 << 20), []);
    assert.equal(sources.get('changed').has(sha), false, 'changed since: read again, and refused');
  });

  it('takes a path only when its bytes hash to the sha256, and answers the same for a wrong, missing, special or outside file', async () => {
    const ws = workspace(join(h.dir, 'ws'), { 'train.py': 'print(1)\n', 'other.py': 'other\n' });
    const fifo = join(h.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const body: CreateSnapshot = { model: 'mm', files: [{ path: 'train.py', sha256: hex('print(1)\n'), size: 9, mode: 0o644 }], entrypoints: { train: 'python train.py' } };
    const snap = await h.svc.create(body);
    assert.equal(snap.localFiles, true);
    const sha = hex('print(1)\n');
    for (const path of [join(ws, 'other.py'), join(ws, 'nope.py'), fifo, '/etc/passwd', '/proc/self/environ', ws, 'train.py']) {
      const after = await h.svc.useLocalFiles(snap.id, [{ sha256: sha, path }]);
      assert.deepEqual(after.missing, [sha], path);
    }
    // a sha256 the snapshot does not need is not even read
    const other = await h.svc.useLocalFiles(snap.id, [{ sha256: hex('other\n'), path: join(ws, 'other.py') }]);
    assert.deepEqual(other.missing, [sha]);
    // verified once, then changed to other bytes of the same size with the old mtime: read again, refused
    const verified = new Map<string, [string, string]>();
    assert.equal(await verifyLocalFile(join(ws, 'train.py'), sha, 1024, verified), true);
    assert.equal(verified.size, 0, 'a file written just now is not remembered (its next write may keep the timestamp)');
    await new Promise((r) => setTimeout(r, RACY_MS + 100));
    assert.equal(await verifyLocalFile(join(ws, 'train.py'), sha, 1024, verified), true);
    assert.equal(verified.get(join(ws, 'train.py'))?.[1], sha, 'a settled file is remembered by its stat');
    const { mtime } = statSync(join(ws, 'train.py'));
    writeFileSync(join(ws, 'train.py'), 'print(2)\n');
    utimesSync(join(ws, 'train.py'), mtime, mtime);
    assert.equal(await verifyLocalFile(join(ws, 'train.py'), sha, 1024, verified), false);
    writeFileSync(join(ws, 'train.py'), 'print(1)\n');
    const ok = await h.svc.useLocalFiles(snap.id, [{ sha256: sha, path: join(ws, 'train.py') }]);
    assert.deepEqual(ok.missing, []);
    const v = await h.svc.build(snap.id);
    assert.equal(v.fileCount, 1);
  });

  it('a client that does not know the backend is on this machine offers the paths after the manifest (POST local-files)', async () => {
    const ws = workspace(join(h.dir, 'ws'), { 'train.py': 'print("train")\n', 'lib/a.py': 'A = 1\n' });
    const client = { ...h.client, onThisMachine: undefined };
    const offered: number[] = [];
    const saved = await saveWorkspace({ ...client, useLocalFiles: (id, files) => (offered.push(files.length), h.svc.useLocalFiles(id, files)) }, { dir: ws, model: 'mm', version: 'later', cacheDir: false });
    assert.deepEqual([saved.localFiles, saved.uploadedFiles, offered], [2, 0, [2]]);
  });

  it('verifies the paths sent with the manifest while it is stored: missing leaves out only the files that hash right', async () => {
    const ws = workspace(join(h.dir, 'ws'), { 'train.py': 'print(1)\n', 'a.py': 'A\n', 'wrong.py': 'not b\n', 'extra.py': 'E\n' });
    const files = [
      { path: 'a.py', sha256: hex('A\n'), size: 2, mode: 0o644 },
      { path: 'b.py', sha256: hex('B\n'), size: 2, mode: 0o644 },
      { path: 'train.py', sha256: hex('print(1)\n'), size: 9, mode: 0o644 },
    ];
    const snap = await h.svc.create({
      model: 'mm',
      version: 'v1',
      files,
      entrypoints: { train: 'python train.py' },
      localFiles: [
        { sha256: hex('print(1)\n'), path: join(ws, 'train.py') },
        { sha256: hex('A\n'), path: join(ws, 'a.py') },
        { sha256: hex('B\n'), path: join(ws, 'wrong.py') }, // other bytes: stays missing
        { sha256: hex('E\n'), path: join(ws, 'extra.py') }, // not in the manifest: not counted, not needed
      ],
    });
    assert.deepEqual([snap.missing, snap.localFiles, snap.inPlace], [[hex('B\n')], true, 2]);
    assert.equal(JSON.parse((await h.ctx.db.selectFrom('snapshots').select('manifest').where('id', '=', snap.id).executeTakeFirstOrThrow()).manifest).localFiles, undefined, 'paths are not stored with the manifest');
    await h.svc.putBlob(hex('B\n'), Buffer.from('B\n'));
    const v = await h.svc.build(snap.id);
    assert.equal(v.fileCount, 3);
  });

  it('a backend not on loopback ignores the paths sent with the manifest (upload what missing lists)', async () => {
    h.ctx.config.server.host = '0.0.0.0';
    const ws = workspace(join(h.dir, 'ws'), { 'train.py': 'print(1)\n' });
    const sha = hex('print(1)\n');
    const snap = await h.svc.create({ model: 'mm', files: [{ path: 'train.py', sha256: sha, size: 9, mode: 0o644 }], entrypoints: { train: 'python train.py' }, localFiles: [{ sha256: sha, path: join(ws, 'train.py') }] });
    assert.deepEqual([snap.missing, snap.localFiles, snap.inPlace], [[sha], undefined, undefined]);
  });

  it('refuses a manifest whose base image cannot be read (400) even with paths sent, keeping nothing', async () => {
    const ws = workspace(join(h.dir, 'ws'), { 'train.py': 'print(1)\n' });
    const sha = hex('print(1)\n');
    const environment = { python: '3.11', implementation: 'cpython', platform: 'linux', machine: 'x86_64', abi: 'cpython-311-x86_64-linux-gnu', distributions: [] };
    await assert.rejects(
      h.svc.create({ model: 'mm', baseImage: `oci-layout:${join(h.dir, 'no-such-layout')}`, environment, files: [{ path: 'train.py', sha256: sha, size: 9, mode: 0o644 }], entrypoints: { train: 'python train.py' }, localFiles: [{ sha256: sha, path: join(ws, 'train.py') }] }),
      (err: HttpError) => err.status === 400,
    );
    assert.equal((await h.ctx.db.selectFrom('snapshots').selectAll().execute()).length, 0);
  });

  it('fails the build, recording nothing, when a large file read in place changed after it was offered; a small one is built from the bytes verified', async () => {
    const ws = workspace(join(h.dir, 'ws'), { 'train.py': 'print(1)\n', 'data.bin': 'y'.repeat(2 << 20) });
    const files = [
      { path: 'data.bin', sha256: hex('y'.repeat(2 << 20)), size: 2 << 20, mode: 0o644 },
      { path: 'train.py', sha256: hex('print(1)\n'), size: 9, mode: 0o644 },
    ];
    // `mode`: data.bin's; another mode makes another code layer (the build would take one it wrote moments before for the same entries: code-layer.ts)
    const offer = async (version: string, mode = 0o644) => {
      const named = files.map((f) => (f.path === 'data.bin' ? { ...f, mode } : f));
      const snap = await h.svc.create({ model: 'mm', version, files: named, entrypoints: { train: 'python train.py' } });
      assert.deepEqual((await h.svc.useLocalFiles(snap.id, files.map((f) => ({ sha256: f.sha256, path: join(ws, f.path) })))).missing, []);
      return snap;
    };
    // data.bin (over DEFER_MIN) is taken unread and hashed as the build reads it: changed since, the build fails
    const big = await offer('v-big');
    writeFileSync(join(ws, 'data.bin'), `z${'y'.repeat((2 << 20) - 1)}`);
    await assert.rejects(h.svc.build(big.id), (err: HttpError) => err.status === 400 && /data\.bin did not hold the 2097152 bytes the client named when the build read it/.test(err.message));
    assert.equal((await h.svc.get(big.id)).status, 'failed');
    assert.equal(await h.ctx.images.getManifest('mm', 'v-big'), null);
    writeFileSync(join(ws, 'data.bin'), 'y'.repeat(2 << 20));
    // train.py (small) was read whole when verified: the build takes those bytes, which the manifest names
    const small = await offer('v-small');
    writeFileSync(join(ws, 'train.py'), 'print(2)\n');
    const version = await h.svc.build(small.id);
    const manifest = JSON.parse((await h.ctx.images.getManifest('mm', version.digest))!.bytes.toString('utf8')) as { layers: Array<{ digest: string; mediaType: string }> };
    let train = '';
    for await (const e of readLayer(h.ctx.images, manifest.layers.at(-1)!)) {
      if (e.header.name === 'app/train.py') for await (const c of e) train += String(c);
      else e.resume();
    }
    assert.equal(train, 'print(1)\n');
    writeFileSync(join(ws, 'train.py'), 'print(1)\n');
    // a FIFO put in a verified file's place fails the build at once (it would block the read forever)
    const fifo = await offer('v-fifo', 0o600);
    rmSync(join(ws, 'data.bin'));
    execFileSync('mkfifo', [join(ws, 'data.bin')]);
    await assert.rejects(h.svc.build(fifo.id), (err: HttpError) => err.status === 400 && /did not hold the 2097152 bytes/.test(err.message));
  });

  it('takes a file the manifest names larger than DEFER_MIN without reading it, answering the same whatever the path holds; the build fails with one message for each cause, and builds the bytes named', async () => {
    const big = 'q'.repeat(DEFER_MIN + 1);
    const ws = workspace(join(h.dir, 'ws'), { 'train.py': 'print(1)\n', 'big.bin': big, 'short.bin': 'q'.repeat(DEFER_MIN - 1), 'other.bin': 'r'.repeat(DEFER_MIN + 1) });
    execFileSync('mkfifo', [join(ws, 'fifo')]);
    const files = [
      { path: 'big.bin', sha256: hex(big), size: big.length, mode: 0o644 },
      { path: 'train.py', sha256: hex('print(1)\n'), size: 9, mode: 0o644 },
    ];
    const build = async (version: string, bigAt: string) => {
      const snap = await h.svc.create({ model: 'mm', version, files, entrypoints: { train: 'python train.py' }, localFiles: [{ sha256: files[0].sha256, path: bigAt }, { sha256: files[1].sha256, path: join(ws, 'train.py') }] });
      assert.deepEqual([snap.missing, snap.inPlace], [[], 2], `${bigAt}: taken, unread`);
      return h.svc.build(snap.id).then(() => 'built', (err: HttpError) => `${err.status} ${err.message.replace(bigAt, '<path>')}`);
    };
    const refused = `400 <path> did not hold the ${big.length} bytes the client named when the build read it (changed, moved or unreadable since it was hashed); save again`;
    for (const [i, path] of [join(ws, 'nope.bin'), join(ws, 'short.bin'), join(ws, 'other.bin'), join(ws, 'fifo'), ws, '/proc/self/environ'].entries()) {
      assert.equal(await build(`bad${i}`, path), refused, path);
    }
    assert.equal(await build('good', join(ws, 'big.bin')), 'built');
    assert.equal((await h.ctx.images.getManifest('mm', 'bad0')), null, 'nothing recorded for a failed build');
  });

  it('is refused (403) by a backend that does not listen on loopback; the client then uploads', async () => {
    h.ctx.config.server.host = '0.0.0.0';
    const ws = workspace(join(h.dir, 'ws'), { 'train.py': 'print(1)\n' });
    const snap = await h.svc.create({ model: 'mm', files: [{ path: 'train.py', sha256: hex('print(1)\n'), size: 9, mode: 0o644 }], entrypoints: { train: 'python train.py' } });
    assert.equal(snap.localFiles, undefined);
    await assert.rejects(h.svc.useLocalFiles(snap.id, [{ sha256: hex('print(1)\n'), path: join(ws, 'train.py') }]), (err: HttpError) => err.status === 403);
    const saved = await saveWorkspace(h.client, { dir: ws, model: 'mm', version: 'up', cacheDir: false });
    assert.equal(saved.localFiles, 0);
    assert.equal(saved.uploadedFiles, 1);
  });
});

describe('snapshots: the local fast path over HTTP', function () {
  this.timeout(60_000);
  it('trainyard save against a loopback server reads in place; with localFiles false it uploads; same image', async () => {
    const b = await startTestBackend();
    try {
      const ws = workspace(join(b.home, 'ws'), { 'train.py': 'print("hi")\n', 'lib/m.py': 'M = 2\n' });
      const local = await saveWorkspace(b.client, { dir: ws, model: 'mm', version: 'l', cacheDir: false });
      assert.equal(local.localFiles, 2);
      assert.equal(local.uploadedFiles, 0);
      const up = await saveWorkspace(b.client, { dir: ws, model: 'mm', version: 'u', cacheDir: false, localFiles: false });
      assert.equal(up.uploadedFiles, 2);
      assert.equal(up.localFiles, 0);
      const manifests = await Promise.all(['l', 'u'].map((l) => b.client.getVersion('mm', l)));
      assert.equal(manifests[0].sizeBytes, manifests[1].sizeBytes);
      // a relative path is refused by the schema, with the manifest or after it
      const body = { model: 'mm', version: 'x', files: [{ path: 'train.py', sha256: hex('print("hi")\n'), size: 12, mode: 0o644 }], entrypoints: { train: 'python train.py' } };
      await assert.rejects(b.client.createSnapshot({ ...body, localFiles: [{ sha256: hex('print("hi")\n'), path: 'train.py' }] }), (err: { status: number }) => err.status === 400);
      const snap = await b.client.createSnapshot(body);
      await assert.rejects(b.client.useLocalFiles(snap.id, [{ sha256: hex('print("hi")\n'), path: 'train.py' }]), (err: { status: number }) => err.status === 400);
      // more paths than one request may name: refused, saying which field (saveWorkspace sends them in parts)
      const tooMany = Array.from({ length: MAX_IN_PLACE_FILES + 1 }, () => ({ sha256: hex('print("hi")\n'), path: '/x' }));
      for (const call of [() => b.client.createSnapshot({ ...body, localFiles: tooMany }), () => b.client.useLocalFiles(snap.id, tooMany)]) {
        await assert.rejects(call(), (err: { status: number; message: string }) => err.status === 400 && /(localFiles|files).*100000 items/.test(err.message));
      }
    } finally {
      await b.close();
      removeHome(b.home);
    }
  });
});
