/**
 * tarNames (the header-only lister the base-image scan uses) against tar-stream, the reader the
 * rest of the code uses, on real archives: the Debian base layer, a layer of our own writer (pax
 * for long and non-ASCII names), GNU tar's long names and a base-256 size, and broken archives.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { tarNames } from '../../src/images/tar-names';
import { OciLayoutStore } from '../../src/images/oci-layout';
import { MEDIA_LAYER_GZIP, writeLayer } from '../../src/images/layer';
import { listLayerEntries, prestartListingThread, spareListingThreadId, stopSpareListingThread } from '../../src/images/layer-read';
import { ensureBaseImage } from '../../../test/components/base-image';
import { tempDir } from './helpers';

async function viaTarStream(bytes: Buffer): Promise<string[]> {
  const ex = tar.extract();
  const out: string[] = [];
  const fed = pipeline(Readable.from([bytes]), ex);
  for await (const e of ex) {
    out.push(`${e.header.type} ${e.header.name}`);
    e.resume();
  }
  await fed;
  return out;
}
/** a ustar archive of [name, content] files, by tar-stream */
async function packed(files: Array<[string, string]>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of files) pack.entry({ name, mtime: new Date(0) }, body);
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
/** writes the checksum of the header at the start of `b` (after a hand edit of its fields) */
function seal(b: Buffer): void {
  let sum = 8 * 32; // the checksum field counts as spaces
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += b[i];
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
}
/** the bytes in uneven small pieces, as a download arrives */
const trickle = (b: Buffer) => Readable.from((function* () { for (let i = 0, n = 1; i < b.length; i += n, n = (n * 7 + 3) % 4099 + 1) yield b.subarray(i, i + n); })());
const names = async (b: Buffer) => (await tarNames(trickle(b))).map((e) => `${e.type} ${e.name}`);

describe('images/tar-names: listing a tar from its headers', function () {
  this.timeout(120_000);
  let t: ReturnType<typeof tempDir>;
  before(() => (t = tempDir('tar-names')));
  after(() => t.cleanup());

  it('lists the Debian base layer as tar-stream does, and listLayerEntries uses it', async () => {
    const dir = await ensureBaseImage();
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string; mediaType: string }> };
    const layer = manifest.layers[0];
    const tarBytes = gunzipSync(readFileSync(join(dir, 'blobs/sha256', layer.digest.slice(7))));
    const want = await viaTarStream(tarBytes);
    assert.ok(want.length > 1000, `${want.length} entries`);
    assert.deepEqual(await names(tarBytes), want);
    const listed = await listLayerEntries(new OciLayoutStore(dir), layer);
    assert.equal(listed.length, want.length);
    assert.ok(listed.some((e) => e.name === 'usr/bin/python3' && e.type === 'symlink'), 'python3 is a symlink in Debian');
  });

  it('reads pax names (long, non-ASCII) of our own layers, and GNU long names and base-256 sizes', async () => {
    const store = new OciLayoutStore(join(t.dir, 'store'));
    const long = `app/${'ü'.repeat(20)}/${'x'.repeat(160)}.py`;
    const layer = await writeLayer(store, [
      { type: 'file', path: long, mode: 0o644, source: { data: Buffer.from('print(1)\n') } },
      { type: 'symlink', path: 'opt/bin/python', target: '../../usr/bin/python3' },
      { type: 'file', path: 'app/big.bin', mode: 0o644, source: { data: Buffer.alloc(70_000, 7) } },
    ]);
    const ours = gunzipSync(readFileSync(join(t.dir, 'store/blobs/sha256', layer.digest.slice(7))));
    assert.deepEqual(await names(ours), await viaTarStream(ours));
    assert.ok((await names(ours)).includes(`file ${long}`));

    const src = join(t.dir, 'gnu');
    mkdirSync(join(src, 'd'.repeat(120)), { recursive: true });
    writeFileSync(join(src, 'd'.repeat(120), `${'f'.repeat(120)}.txt`), 'hello');
    symlinkSync('target', join(src, 'link'));
    const gnu = execFileSync('tar', ['--format=gnu', '-C', src, '-cf', '-', '.']);
    assert.deepEqual(await names(gnu), await viaTarStream(gnu));
    const pax = execFileSync('tar', ['--format=posix', '-C', src, '-cf', '-', '.']);
    assert.deepEqual(await names(pax), await viaTarStream(pax));
    // a base-256 size field (GNU, for bodies of 8 GiB and more), written by hand for a small body
    const two = Buffer.concat([await packed([['a.txt', 'hello'], ['b.txt', 'world!']])]);
    two.fill(0, 124, 136);
    two[124] = 0x80;
    two[135] = 5;
    seal(two);
    assert.deepEqual(await names(two), ['file a.txt', 'file b.txt']);
  });

  it('refuses a header whose checksum does not add up and an archive that ends inside an entry', async () => {
    const store = new OciLayoutStore(join(t.dir, 'store2'));
    const layer = await writeLayer(store, [{ type: 'file', path: 'a/b.bin', mode: 0o644, source: { data: Buffer.alloc(5000, 1) } }]);
    const bytes = gunzipSync(readFileSync(join(t.dir, 'store2/blobs/sha256', layer.digest.slice(7))));
    const bad = Buffer.from(bytes);
    bad[512 + 10] ^= 0x20; // inside the second header's name (the first is the "a" directory)
    await assert.rejects(tarNames(Readable.from([bad])), /checksum does not add up \(after 1 entries\)/);
    await assert.rejects(tarNames(Readable.from([bytes.subarray(0, 512 * 3)])), /ends inside an entry/);
    // a pax header claiming 2 GiB is not buffered: refused at its header
    const huge = Buffer.alloc(1024);
    huge.write('PaxHeaders/x', 0, 'ascii');
    huge.write('00000000644\0', 100, 'ascii');
    huge.write('17777777777\0', 124, 'ascii'); // size: 2 GiB - 1, octal
    huge[156] = 'x'.charCodeAt(0);
    huge.write('ustar\0' + '00', 257, 'ascii');
    seal(huge);
    await assert.rejects(tarNames(Readable.from([huge])), /a pax header of 2147483647 bytes/);
    // a gzip stream cut short fails the listing (never a short list)
    const gz = readFileSync(join(t.dir, 'store2/blobs/sha256', layer.digest.slice(7)));
    const z = createGunzip();
    const fed = pipeline(Readable.from([gz.subarray(0, gz.length - 20)]), z);
    fed.catch(() => undefined);
    await assert.rejects(tarNames(z));
  });

  it('listLayerEntries lists gzip and zstd layers on its thread, and a broken or cut blob fails the listing', async () => {
    const store = new OciLayoutStore(join(t.dir, 'store3'));
    const entries = [
      { type: 'file' as const, path: 'usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA', mode: 0o644, source: { data: Buffer.from('Name: x\n') } },
      { type: 'file' as const, path: 'opt/blob.bin', mode: 0o644, source: { data: randomBytes(3 << 20) } },
    ];
    const want = ['directory opt', 'file opt/blob.bin', 'directory usr', 'directory usr/lib', 'directory usr/lib/python3', 'directory usr/lib/python3/dist-packages',
      'directory usr/lib/python3/dist-packages/x-1.0.dist-info', 'file usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA'];
    for (const compression of [{ algorithm: 'gzip', level: 6 }, { algorithm: 'zstd', level: 3 }] as const) {
      const layer = await writeLayer(store, entries, { compression });
      assert.deepEqual((await listLayerEntries(store, layer)).map((e) => `${e.type} ${e.name}`), want, compression.algorithm);
    }
    // a blob whose deflate stream is damaged in the middle, and one cut short: stored under their own digests
    const good = readFileSync(join(t.dir, 'store3/blobs/sha256', (await writeLayer(store, entries)).digest.slice(7)));
    const damaged = Buffer.from(good);
    damaged.fill(0xff, 4000, 4100);
    for (const [what, bytes] of [['damaged', damaged], ['cut short', good.subarray(0, good.length >> 1)]] as const) {
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      await store.putBlob(digest, bytes);
      await assert.rejects(listLayerEntries(store, { digest, mediaType: MEDIA_LAYER_GZIP }), (err: Error) => {
        assert.match(err.message, /invalid|unexpected end|ends inside|checksum/i, `${what}: ${err.message}`);
        return true;
      });
    }
  });

  it('a server\'s spare listing thread, started before the layer is known, lists it; another is started after', async () => {
    const store = new OciLayoutStore(join(t.dir, 'store4'));
    const entries = [{ type: 'file' as const, path: 'usr/bin/x', mode: 0o755, source: { data: randomBytes(2 << 20) } }];
    const zstd = await writeLayer(store, entries, { compression: { algorithm: 'zstd', level: 3 } });
    const gzip = await writeLayer(store, entries);
    prestartListingThread();
    try {
      const first = spareListingThreadId();
      assert.ok(first !== undefined, 'a spare is started');
      assert.deepEqual((await listLayerEntries(store, zstd)).map((e) => `${e.type} ${e.name}`), ['directory usr', 'directory usr/bin', 'file usr/bin/x']);
      const deadline = Date.now() + 5000;
      while ([undefined, first].includes(spareListingThreadId()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const second = spareListingThreadId();
      assert.ok(second !== undefined && second !== first, 'the listing took the spare, and a new one is started a while after');
      assert.equal((await listLayerEntries(store, gzip)).length, 3);
    } finally {
      stopSpareListingThread();
    }
    assert.equal(spareListingThreadId(), undefined);
  });
});
