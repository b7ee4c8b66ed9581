/** OciLayoutStore: verified blobs, tags in index.json, concurrent saves, lookups. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { OciLayoutStore, REF_NAME_ANNOTATION, refNameFor } from '../../src/images/oci-layout';
import { openImageStore, parseImageRef, parseLayoutRef, imageRefFor } from '../../src/images/open';
import { tempDir } from './helpers';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MT = 'application/vnd.oci.image.manifest.v1+json';

describe('images/oci-layout', () => {
  let t: ReturnType<typeof tempDir>;
  let store: OciLayoutStore;
  beforeEach(() => {
    t = tempDir('layout');
    store = new OciLayoutStore(join(t.dir, 'images'));
  });
  afterEach(() => t.cleanup());

  it('stores a blob only when it hashes to its digest', async () => {
    const data = Buffer.from('hello');
    const wrong = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(store.putBlob(wrong, data), /digest mismatch: expected sha256:0{64}, got sha256:/);
    assert.equal(await store.hasBlob(wrong), false);
    assert.deepEqual(readdirSync(join(t.dir, 'images', 'blobs', 'sha256')), []);
    assert.deepEqual(readdirSync(join(t.dir, 'images', '.trainyard-tmp')), [], 'temp file left behind');
    await store.putBlob(digestOf(data), Readable.from([Buffer.from('hel'), Buffer.from('lo')]));
    assert.equal(await store.hasBlob(digestOf(data)), true);
    const chunks: Buffer[] = [];
    for await (const c of await store.openBlob(digestOf(data))) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    assert.equal(JSON.parse(readFileSync(join(t.dir, 'images', 'oci-layout'), 'utf8')).imageLayoutVersion, '1.0.0');
  });

  it('tags manifests as <repo>:<tag> and finds them by tag or digest', async () => {
    const m1 = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, n: 1 }));
    const m2 = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, n: 2 }));
    assert.equal(await store.putManifest('eta-correction', 'abc1234+dirty.0a1b2c3d', m1, MT), digestOf(m1));
    await store.putManifest('eta-correction', 'v2', m2, MT);
    const index = JSON.parse(readFileSync(join(t.dir, 'images', 'index.json'), 'utf8'));
    assert.deepEqual(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations[REF_NAME_ANNOTATION]), ['eta-correction:abc1234+dirty.0a1b2c3d', 'eta-correction:v2']);
    assert.equal((await store.getManifest('eta-correction', 'abc1234+dirty.0a1b2c3d'))?.digest, digestOf(m1));
    assert.deepEqual((await store.getManifest('eta-correction', digestOf(m2)))?.bytes, m2);
    assert.equal(await store.getManifest('eta-correction', 'nope'), null);
    assert.equal(await store.getManifest('other', 'v2'), null);
    // re-tagging moves the tag, keeps one entry
    await store.putManifest('eta-correction', 'v2', m1, MT);
    const again = JSON.parse(readFileSync(join(t.dir, 'images', 'index.json'), 'utf8'));
    assert.equal(again.manifests.length, 2);
    assert.equal((await store.getManifest('eta-correction', 'v2'))?.digest, digestOf(m1));
  });

  it('keeps every tag when many saves run at once', async () => {
    const all = Array.from({ length: 25 }, (_, i) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, i })));
    // two store objects over the same directory share the lock
    const other = new OciLayoutStore(join(t.dir, 'images'));
    await Promise.all(all.map((m, i) => (i % 2 ? store : other).putManifest('m', `v${i}`, m, MT)));
    const index = JSON.parse(readFileSync(join(t.dir, 'images', 'index.json'), 'utf8'));
    assert.equal(index.manifests.length, 25);
    for (let i = 0; i < 25; i++) assert.equal((await store.getManifest('m', `v${i}`))?.digest, digestOf(all[i]));
  });

  it('refuses tags the OCI ref grammar does not allow', () => {
    assert.equal(refNameFor('eta', '1.0+build.7'), 'eta:1.0+build.7');
    assert.throws(() => refNameFor('eta', 'v1-'), /cannot be an OCI image ref name/);
    assert.throws(() => refNameFor('eta', 'a..b'), /cannot be an OCI image ref name/);
  });

  it('opens oci-layout stores and registry stores', () => {
    const s = openImageStore(`oci-layout:${t.dir}/x`);
    assert.equal(s.location, `oci-layout:${t.dir}/x`);
    assert.equal(openImageStore('http://127.0.0.1:5000/team', { cacheDir: join(t.dir, 'cache') }).location, '127.0.0.1:5000/team');
    assert.throws(() => openImageStore('http://127.0.0.1:5000/Team'), /not a valid repository namespace/);
    assert.throws(() => openImageStore('docker.io/x'), /must be oci-layout/);
    assert.equal(existsSync(join(t.dir, 'x')), false, 'opening creates nothing');
  });

  it('parses image refs and layout refs', () => {
    const ref = imageRefFor(store, 'eta', 'abc+dirty.1');
    const p = parseImageRef(ref);
    assert.deepEqual([p.store.dir, p.repo, p.tag], [join(t.dir, 'images'), 'eta', 'abc+dirty.1']);
    assert.deepEqual(parseLayoutRef('oci:/a/b:latest'), { dir: '/a/b', refName: 'latest' });
    assert.deepEqual(parseLayoutRef('/a/b'), { dir: '/a/b', refName: null });
    assert.deepEqual(parseLayoutRef('./b:x:y', '/w'), { dir: '/w/b', refName: 'x:y' });
    assert.equal(parseLayoutRef('python:3.11-slim'), null);
  });
});
