/** unpackImage refuses layers that would write outside dest, and applies whiteouts. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { OciLayoutStore } from '../../src/images/oci-layout';
import { unpackImage } from '../../src/images/unpack';
import { tempDir } from './helpers';

type Raw = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; body?: string };

async function rawLayer(entries: Raw[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((res, rej) =>
      pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.type === 'directory' ? 0o755 : 0o644 }, e.body ?? '', (err) => (err ? rej(err) : res())),
    );
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function image(store: OciLayoutStore, tag: string, layers: Raw[][]): Promise<void> {
  const descs = [];
  for (const l of layers) {
    const blob = await rawLayer(l);
    await store.putBlob(sha(blob), blob);
    descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(blob), size: blob.length });
  }
  const config = Buffer.from('{}');
  await store.putBlob(sha(config), config);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: 2 }, layers: descs }));
  await store.putManifest('t', tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
}

describe('images/unpack safety', () => {
  let t: ReturnType<typeof tempDir>;
  let store: OciLayoutStore;
  beforeEach(() => {
    t = tempDir('unpack');
    store = new OciLayoutStore(join(t.dir, 'images'));
    mkdirSync(join(t.dir, 'outside'));
  });
  afterEach(() => t.cleanup());

  const cases: Array<[string, Raw[], RegExp]> = [
    ['a ".." entry', [{ name: 'app/../../outside/evil', body: 'x' }], /refusing layer entry with "\.\."/],
    ['an absolute entry', [{ name: '/outside/evil', body: 'x' }], /absolute path/],
    ['a symlink out of dest', [{ name: 'app/esc', type: 'symlink', linkname: '../../outside' }], /points outside the image/],
    ['a write through a symlink', [{ name: 'app/', type: 'directory' }, { name: 'app/lnk', type: 'symlink', linkname: '/tmp' }, { name: 'app/lnk/evil', body: 'x' }], /through the symlink "app\/lnk"/],
    ['a hard link out of dest', [{ name: 'app/h', type: 'link', linkname: '../outside/f' }], /refusing layer entry with "\.\."/],
  ];
  for (const [what, entries, message] of cases) {
    it(`refuses ${what}`, async () => {
      writeFileSync(join(t.dir, 'outside', 'f'), 'secret');
      await image(store, 'bad', [entries]);
      await assert.rejects(unpackImage(store, 't', 'bad', join(t.dir, 'dest')), message);
      assert.deepEqual(readdirSync(join(t.dir, 'outside')), ['f'], 'something was written outside dest');
      assert.equal(existsSync('/tmp/evil'), false);
    });
  }

  it('applies whiteouts and opaque directories of later layers, keeps absolute symlinks', async () => {
    await image(store, 'wh', [
      [{ name: 'a/keep', body: '1' }, { name: 'a/gone', body: '2' }, { name: 'b/x', body: '3' }, { name: 'b/y', body: '4' }],
      [{ name: 'a/.wh.gone' }, { name: 'b/.wh..wh..opq' }, { name: 'b/z', body: '5' }, { name: 'c', type: 'symlink', linkname: '/usr/bin/python3' }],
    ]);
    const dest = join(t.dir, 'dest');
    await unpackImage(store, 't', 'wh', dest);
    assert.deepEqual(readdirSync(join(dest, 'a')), ['keep']);
    assert.deepEqual(readdirSync(join(dest, 'b')), ['z']);
    assert.equal(readFileSync(join(dest, 'b', 'z'), 'utf8'), '5');
  });

  it('says which image is missing', async () => {
    await assert.rejects(unpackImage(store, 'eta', 'v1', join(t.dir, 'dest')), /no image eta:v1 in oci-layout:/);
  });
});
