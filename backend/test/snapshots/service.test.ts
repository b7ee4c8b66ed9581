/** SnapshotsService with a real store (SQLite and PostgreSQL), a real OCI layout and blob dir. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateSnapshot } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { HttpError } from '../../src/errors';
import { getVersion, listVersions } from '../../src/models/store';
import { parseImageRef } from '../../src/images/open';
import { STORE_KINDS } from '../../../test/helpers/stores';
import { run } from '../images/helpers';
import { harness, type Harness } from './helpers';

const hex = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const file = (path: string, content: string, mode = 0o644) => ({ path, sha256: hex(content), size: Buffer.byteLength(content), mode });

/** rejects with an HttpError of `status` whose message matches */
async function httpError(p: Promise<unknown>, status: number, message: RegExp): Promise<HttpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HttpError, `not an HttpError: ${err}`);
    assert.equal(err.status, status, err.message);
    assert.match(err.message, message);
    return err;
  }
  assert.fail('expected a rejection');
}

function workspace(h: Harness, files: Record<string, string>): string {
  const ws = join(h.dir, 'ws');
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(ws, p, '..'), { recursive: true });
    writeFileSync(join(ws, p), c);
  }
  return ws;
}

for (const kind of STORE_KINDS) {
  describe(`snapshots service on ${kind}`, () => {
    let h: Harness;
    beforeEach(async () => (h = await harness(kind)));
    afterEach(async () => h.close());

    it('answers missing blobs, refuses to build until they are uploaded, then records the version', async () => {
      const body: CreateSnapshot = {
        model: 'eta-correction',
        files: [file('train.py', 'print(1)\n'), file('lib/a.py', 'A\n'), file('lib/copy.py', 'A\n')],
        entrypoints: { train: 'python train.py' },
        git: { sha: 'abcdef1', dirty: false },
      };
      const snap = await h.svc.create(body);
      assert.equal(snap.status, 'uploading');
      assert.equal(snap.version, 'abcdef1');
      assert.deepEqual([...snap.missing].sort(), [hex('A\n'), hex('print(1)\n')].sort(), 'distinct missing sha256s');
      assert.equal(await h.svc.putBlob(hex('A\n'), Buffer.from('A\n')).then((r) => r.size), 2);
      assert.deepEqual((await h.svc.get(snap.id)).missing, [hex('print(1)\n')]);
      const err = await httpError(h.svc.build(snap.id), 409, /1 file blob\(s\) are not uploaded yet/);
      assert.deepEqual((err.details as { missing: string[] }).missing, [hex('print(1)\n')]);

      await h.svc.putBlob(hex('print(1)\n'), Buffer.from('print(1)\n'));
      const v = await h.svc.build(snap.id);
      assert.equal(v.label, 'abcdef1');
      assert.equal(v.fileCount, 3);
      assert.deepEqual(v.git, { sha: 'abcdef1', dirty: false });
      assert.match(v.digest, /^sha256:[a-f0-9]{64}$/);
      assert.deepEqual(await getVersion(h.ctx.db, 'eta-correction', 'abcdef1'), v);
      const { store, repo, tag } = parseImageRef(v.imageRef);
      assert.equal((await store.getManifest(repo, tag))?.digest, v.digest);
      const s = await h.svc.get(snap.id);
      assert.deepEqual([s.status, s.missing, s.error], ['built', [], null]);
      const progress = (e: (typeof h.events)[number]) => (e.kind === 'snapshot' && 'progress' in e.data && e.data.progress ? ` ${e.data.progress.replace(/ in .*/, '')}` : '');
      assert.deepEqual(h.events.map((e) => `${e.kind}:${e.kind === 'snapshot' ? e.data.status : ''}${progress(e)}`), [
        'snapshot:uploading',
        'snapshot:building',
        'snapshot:building writing the code layer',
        'snapshot:building storing the image',
        'version:',
        'snapshot:built',
      ]);
      // building again answers the same version
      assert.deepEqual(await h.svc.build(snap.id), v);
    });

    it('keeps versions immutable: same content returns the version, other content is a 409', async () => {
      const ws = workspace(h, { 'train.py': 'print(1)\n' });
      const first = await saveWorkspace(h.client, { dir: ws, model: 'eta', version: 'v1' });
      const again = await saveWorkspace(h.client, { dir: ws, model: 'eta', version: 'v1' });
      assert.equal(again.version.digest, first.version.digest);
      assert.equal(again.uploadedFiles, 0);

      writeFileSync(join(ws, 'train.py'), 'print(2)\n');
      const snap = await h.svc.create({ model: 'eta', version: 'v1', files: [file('train.py', 'print(2)\n')], entrypoints: { train: 'python train.py' } });
      await h.svc.putBlob(hex('print(2)\n'), Buffer.from('print(2)\n'));
      await httpError(h.svc.build(snap.id), 409, /already has a version "v1" with different content.*--version/);
      const s = await h.svc.get(snap.id);
      assert.equal(s.status, 'failed');
      assert.match(s.error ?? '', /different content/);
      assert.equal((await listVersions(h.ctx.db, 'eta')).items.length, 1);
      assert.equal((await h.ctx.images.getManifest('eta', 'v1'))?.digest, first.version.digest, 'tag not moved');
    });
  });
}

describe('snapshots service', () => {
  let h: Harness;
  beforeEach(async () => (h = await harness('sqlite', 64)));
  afterEach(async () => h.close());

  it('a re-save after a one-file edit uploads only that file', async () => {
    const ws = workspace(h, { 'train.py': 'print(1)\n', 'a.py': 'a\n', 'b/c.py': 'c\n', 'predict.py': 'p\n' });
    const first = await saveWorkspace(h.client, { dir: ws, model: 'eta' });
    assert.deepEqual([first.uploadedFiles, first.totalFiles], [4, 4]);
    assert.match(first.version.label, /^snap-[a-f0-9]{12}$/);
    assert.deepEqual(first.version.entrypoints, { train: 'python train.py', predict: 'python predict.py' });
    writeFileSync(join(ws, 'b/c.py'), 'C\n');
    const progress: string[] = [];
    const second = await saveWorkspace(h.client, { dir: ws, model: 'eta', onProgress: (m) => progress.push(m) });
    assert.deepEqual([second.uploadedFiles, second.uploadedBytes, second.totalFiles], [1, 2, 4]);
    assert.notEqual(second.version.label, first.version.label);
    assert.notEqual(second.version.digest, first.version.digest);
    assert.ok(progress.some((m) => /uploading 1 of 4 files/.test(m)), progress.join('\n'));
    const unchanged = await saveWorkspace(h.client, { dir: ws, model: 'eta' });
    assert.deepEqual([unchanged.uploadedFiles, unchanged.version.label, unchanged.version.digest], [0, second.version.label, second.version.digest]);
  });

  it('saves neither ignored files nor secrets: umoci finds exactly the chosen files in /app', async () => {
    const ws = workspace(h, {
      'train.py': 'print(1)\n',
      'lib/model.py': 'M\n',
      '.gitignore': '.env\noutput/\n',
      '.trainyardignore': 'secrets/\n',
      '.env': 'API_TOKEN=hunter2-secret\n',
      'secrets/key.txt': 'hunter2-secret',
      'output/model.bin': 'big',
      '.git/config': '[core]',
      'node_modules/x.js': 'x',
    });
    const saved = await saveWorkspace(h.client, { dir: ws, model: 'eta', version: 'v1' });
    const bundle = join(h.dir, 'bundle');
    const r = await run('umoci', ['unpack', '--rootless', '--image', `${join(h.dir, 'images')}:eta:v1`, bundle]);
    assert.equal(r.code, 0, r.stderr);
    const app = (await run('find', ['.', '-mindepth', '1'], { cwd: join(bundle, 'rootfs', 'app') })).stdout.trim().split('\n').sort();
    assert.deepEqual(app, ['./.gitignore', './.trainyardignore', './lib', './lib/model.py', './train.py']);
    assert.equal(saved.totalFiles, 4);
    const grep = await run('grep', ['-r', '-l', 'hunter2', join(bundle, 'rootfs')]);
    assert.equal(grep.code, 1, `secret found in ${grep.stdout}`);
  });

  it('rejects an upload whose bytes do not hash to the URL, storing nothing', async () => {
    const err = await httpError(h.svc.putBlob(hex('good'), Buffer.from('evil')), 400, /blob hash mismatch/);
    assert.match(err.message, new RegExp(`says sha256 ${hex('good')} but the body hashes to ${hex('evil')}`));
    assert.deepEqual(err.details, { expected: hex('good'), got: hex('evil') });
    assert.deepEqual(existsSync(h.ctx.dirs.blobs) ? readdirSync(h.ctx.dirs.blobs) : [], []);
    await httpError(h.svc.putBlob(hex('x'.repeat(65)), Buffer.from('x'.repeat(65))), 413, /over the 64-byte limit/);
  });

  const bad: Array<[string, Partial<CreateSnapshot>, RegExp]> = [
    ['a ".." path', { files: [file('train.py', 'x'), file('../etc/passwd', 'x')] }, /"\.\.\/etc\/passwd" has a "\.\." segment/],
    ['an absolute path', { files: [file('train.py', 'x'), file('/etc/passwd', 'x')] }, /"\/etc\/passwd" is absolute/],
    ['a backslash path', { files: [file('train.py', 'x'), file('a\\..\\b', 'x')] }, /contains "\\"; use "\/"/],
    ['a duplicate path', { files: [file('train.py', 'x'), file('train.py', 'y')] }, /"train.py" is listed twice/],
    ['a file used as a folder', { files: [file('train.py', 'x'), file('train.py/x', 'y')] }, /"train.py" is listed as a file but "train.py\/x" is inside it/],
    ['a file over images.maxFileBytes', { files: [file('train.py', 'x'.repeat(65))] }, /65 bytes, over the 64-byte limit/],
    ['no train entrypoint', { entrypoints: { predict: 'python p.py' } }, /no "train" entrypoint.*--entrypoint train=/],
    ['a label that cannot tag an image', { version: 'v1-' }, /version label "v1-" cannot tag an image/],
    ['a base image without a registry host', { baseImage: 'python:3.11-slim' }, /or a registry image with its host/],
  ];
  for (const [what, patch, message] of bad) {
    it(`refuses a manifest with ${what}`, async () => {
      const body: CreateSnapshot = { model: 'eta', files: [file('train.py', 'x')], entrypoints: { train: 'python train.py' }, ...patch };
      await httpError(h.svc.create(body), 400, message);
      assert.equal((await h.ctx.db.selectFrom('snapshots').selectAll().execute()).length, 0);
    });
  }

  it('labels versions by git sha, sha+dirty.<hash>, or snap-<hash>', async () => {
    const base = { model: 'eta', files: [file('train.py', 'x')], entrypoints: { train: 'python train.py' } };
    assert.equal((await h.svc.create({ ...base, git: { sha: 'abc1234', dirty: false } })).version, 'abc1234');
    const dirty = (await h.svc.create({ ...base, git: { sha: 'abc1234', dirty: true } })).version!;
    assert.match(dirty, /^abc1234\+dirty\.[a-f0-9]{8}$/);
    const other = (await h.svc.create({ ...base, files: [file('train.py', 'y')], git: { sha: 'abc1234', dirty: true } })).version!;
    assert.notEqual(other, dirty, 'the dirty hash follows the content');
    assert.match((await h.svc.create(base)).version!, /^snap-[a-f0-9]{12}$/);
    assert.equal((await h.svc.create({ ...base, version: 'mine', git: { sha: 'abc1234', dirty: true } })).version, 'mine');
  });

  it('marks the snapshot failed, with the reason, when the build fails', async () => {
    const snap = await h.svc.create({ model: 'eta', files: [file('train.py', 'x')], entrypoints: { train: 'python train.py' }, baseImage: join(h.dir, 'no-such-layout') });
    await h.svc.putBlob(hex('x'), Buffer.from('x'));
    await httpError(h.svc.build(snap.id), 400, /is not an OCI image layout/);
    const s = await h.svc.get(snap.id);
    assert.equal(s.status, 'failed');
    assert.match(s.error ?? '', /no-such-layout/);
    assert.deepEqual((await listVersions(h.ctx.db, 'eta')).items, []);
    assert.ok(h.events.some((e) => e.kind === 'snapshot' && e.data.status === 'failed'));
  });

  it('builds once when asked twice at the same time; 404 for unknown snapshots', async () => {
    const snap = await h.svc.create({ model: 'eta', files: [file('train.py', 'x')], entrypoints: { train: 'python train.py' } });
    await h.svc.putBlob(hex('x'), Buffer.from('x'));
    const [a, b] = await Promise.all([h.svc.build(snap.id), h.svc.build(snap.id)]);
    assert.deepEqual(a, b);
    assert.equal(h.events.filter((e) => e.kind === 'version').length, 1);
    await httpError(h.svc.get('snp_0000000000aaaaaaaaaaaa'), 404, /no snapshot/);
    // the staged blob is the uploaded bytes
    assert.equal(readFileSync(join(h.ctx.dirs.blobs, hex('x')), 'utf8'), 'x');
  });
});
