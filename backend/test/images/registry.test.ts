/**
 * The registry client and RegistryStore against a real registry (Debian's
 * docker-registry on loopback): anonymous and token auth, HEAD skip, chunked
 * uploads, cross-repository mount of base layers, Docker/OCI manifests with and
 * without top-level mediaType, multi-arch index narrowing; checked with skopeo.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { registryAvailable, startRegistry, type RegistryHandle } from '../../../test/components/registry';
import { RegistryStore } from '../../src/images/registry-store';
import { openImageStore } from '../../src/images/open';
import { parseRegistryRef, parseRegistryUrl, tagFor } from '../../src/images/registry/reference';
import { parseChallenge } from '../../src/images/registry/http';
import { RegistryClient } from '../../src/images/registry/client';
import { BaseImageError, resolveBaseImage } from '../../src/images/base-image';
import { buildImage } from '../../src/images/image-builder';
import { OciLayoutStore } from '../../src/images/oci-layout';
import { SourceChangedError, writeLayer, type LayerEntry } from '../../src/images/layer';
import { listLayerEntries } from '../../src/images/layer-read';
import { run, tempDir } from './helpers';
import { pushRaw, sha, tinyImage } from './registry-helpers';
import { startFaultProxy } from './fault-proxy';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';

describe('registry references and tags', () => {
  it('maps dirty labels to valid Docker tags and parses refs', () => {
    assert.equal(tagFor('3f2a1c9+dirty.0a1b2c3d'), '3f2a1c9_dirty.0a1b2c3d');
    assert.equal(tagFor('v2'), 'v2');
    assert.throws(() => tagFor('x'.repeat(129)), /cannot be a registry tag/);
    const loc = parseRegistryUrl('http://u:p%40ss@127.0.0.1:5000/team/');
    assert.deepEqual(loc, { baseUrl: 'http://127.0.0.1:5000', host: '127.0.0.1:5000', namespace: 'team', username: 'u', password: 'p@ss' });
    assert.deepEqual(parseRegistryRef('127.0.0.1:5000/team/base:v1'), { endpoint: { baseUrl: 'http://127.0.0.1:5000', host: '127.0.0.1:5000' }, repo: 'team/base', ref: 'v1' });
    assert.equal(parseRegistryRef('registry.example.com/a/b')?.endpoint.baseUrl, 'https://registry.example.com');
    assert.equal(parseRegistryRef('registry.example.com/a/b')?.ref, 'latest');
    assert.equal(parseRegistryRef('python:3.11-slim'), null, 'Docker Hub short names need a host');
    assert.equal(parseRegistryRef('/abs/layout:tag'), null);
    assert.deepEqual(parseChallenge('Bearer realm="http://a/token",service="reg",scope="repository:x:pull,push"'), {
      scheme: 'bearer',
      params: { realm: 'http://a/token', service: 'reg', scope: 'repository:x:pull,push' },
    });
  });
});

describe('RegistryStore against docker-registry', function () {
  this.timeout(120_000);
  let reg: RegistryHandle;
  let tmp: ReturnType<typeof tempDir>;
  before(async function () {
    if (!registryAvailable()) throw new Error('docker-registry is not installed (apt-get install docker-registry; npm test installs it)');
    reg = await startRegistry();
    tmp = tempDir('registry');
  });
  after(async () => {
    await reg?.stop();
    tmp?.cleanup();
  });

  it('pushes chunked and monolithic blobs, skips present ones, reads back, and skopeo agrees', async () => {
    const store = openImageStore(`${reg.url}/team`, { cacheDir: `${tmp.dir}/cache1`, client: { chunkThreshold: 256 * 1024, chunkSize: 100 * 1024 } }) as RegistryStore;
    assert.ok(store instanceof RegistryStore);
    const img = await tinyImage(store, { layers: 2, randomKiB: 600 });
    const digest = await store.putManifest('demo', 'abc123+dirty.0f0f0f0f', img.manifest, OCI);
    assert.equal(digest, sha(img.manifest));
    assert.deepEqual(Object.values(store.lastPush), ['uploaded', 'uploaded', 'uploaded']);
    assert.ok(store.client.stats.uploadedBytes > 1200 * 1024, `${store.client.stats.uploadedBytes} bytes uploaded`);
    assert.equal(store.imageRef('demo', 'abc123+dirty.0f0f0f0f'), `${reg.host}/team/demo:abc123_dirty.0f0f0f0f`);

    // again: every blob is already there (HEAD), nothing uploaded
    const before = store.client.stats.uploadedBytes;
    await store.putManifest('demo', 'again', img.manifest, OCI);
    assert.deepEqual(Object.values(store.lastPush), ['present', 'present', 'present']);
    assert.equal(store.client.stats.uploadedBytes, before);

    // a fresh store (empty cache) reads the manifest and downloads a layer, verified
    const other = openImageStore(`${reg.url}/team`, { cacheDir: `${tmp.dir}/cache2` }) as RegistryStore;
    const got = await other.getManifest('demo', 'abc123+dirty.0f0f0f0f');
    assert.equal(got?.digest, digest);
    assert.equal(got?.mediaType, OCI);
    assert.equal(await other.getManifest('demo', 'nope'), null);
    const chunks: Buffer[] = [];
    for await (const c of await other.openBlob(img.layers[1].digest)) chunks.push(c as Buffer);
    assert.equal(sha(Buffer.concat(chunks)), img.layers[1].digest);

    const inspect = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/demo:abc123_dirty.0f0f0f0f`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const info = JSON.parse(inspect.stdout) as { Digest: string; Layers: string[] };
    assert.equal(info.Digest, digest);
    assert.deepEqual(info.Layers, img.layers.map((l) => l.digest));
  });

  it('pushes a small blob it made moments before without a HEAD first, a big one or one it did not make after one; one the registry has is uploaded again', async () => {
    const proxy = await startFaultProxy(reg, []);
    try {
      const store = openImageStore(`${proxy.url}/team`, { cacheDir: `${tmp.dir}/cache-fresh1` }) as RegistryStore;
      const img = await tinyImage(store, { layers: 2, randomKiB: 4 });
      await store.putManifest('fresh', 'v1', img.manifest, OCI);
      assert.deepEqual(Object.values(store.lastPush), ['uploaded', 'uploaded', 'uploaded']);
      assert.deepEqual(proxy.log.filter((l) => l.startsWith('HEAD')), [], 'no HEAD for blobs made here');
      assert.equal(proxy.log.filter((l) => l.startsWith('PUT /v2/team/fresh/blobs/')).length, 3);

      // another store (another process) makes the same config: uploaded again, and the layers it did not make are found with a HEAD
      proxy.log.length = 0;
      const other = openImageStore(`${proxy.url}/team`, { cacheDir: `${tmp.dir}/cache-fresh2` }) as RegistryStore;
      await other.putBlob(sha(img.config), img.config);
      for (const l of img.layers) {
        const chunks: Buffer[] = [];
        for await (const c of await store.openBlob(l.digest)) chunks.push(c as Buffer);
        await other.cache.putBlob(l.digest, Buffer.concat(chunks)); // in its cache, not made by it
      }
      await other.putManifest('fresh', 'v2', img.manifest, OCI);
      assert.equal(other.lastPush[sha(img.config)], 'uploaded');
      assert.deepEqual(img.layers.map((l) => other.lastPush[l.digest]), ['present', 'present']);
      assert.deepEqual(proxy.log.filter((l) => l.startsWith('HEAD')).sort(), img.layers.map((l) => `HEAD /v2/team/fresh/blobs/${l.digest}`).sort());

      // a blob over 1 MiB made here: a HEAD first
      proxy.log.length = 0;
      const big = await tinyImage(store, { layers: 1, randomKiB: 1100 });
      await store.putManifest('fresh', 'v3', big.manifest, OCI);
      assert.deepEqual(proxy.log.filter((l) => l.startsWith('HEAD')), [`HEAD /v2/team/fresh/blobs/${big.layers[0].digest}`]);
      const inspect = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/fresh:v2`]);
      assert.equal(inspect.code, 0, inspect.stderr);
    } finally {
      await proxy.close();
    }
  });

  it('an aborted streamed upload settles every write, also those waiting for room, and commits nothing', async () => {
    const client = new RegistryClient(parseRegistryUrl(reg.url));
    const up = await client.openUpload('team/aborted');
    // far more than the stream holds (1 MiB) and the socket takes at once: most writes wait for room
    const writes = Array.from({ length: 32 }, () => up.write(randomBytes(1 << 20)).then(() => 'sent', () => 'failed'));
    await new Promise((r) => setTimeout(r, 20));
    up.abort();
    const outcomes = await Promise.race([Promise.all(writes), new Promise<string>((r) => setTimeout(() => r('some writes never settled'), 10_000))]);
    assert.ok(Array.isArray(outcomes), String(outcomes));
    assert.ok(outcomes.includes('failed'), `the writes after the abort fail (${outcomes.join(',')})`);
    assert.equal(existsSync(join(reg.storageDir, 'docker/registry/v2/repositories/team/aborted/_layers')), false, 'no blob was committed');
  });

  it('uploads a layer while it is written (one streamed PATCH), drops it when the layer fails, and falls back to a whole push when that upload fails', async () => {
    const store = openImageStore(`${reg.url}/team`, { cacheDir: `${tmp.dir}/cache-stream` }) as RegistryStore;
    const client = new RegistryClient(parseRegistryUrl(reg.url));
    const src = `${tmp.dir}/stream-src.bin`;
    writeFileSync(src, randomBytes(20 << 20));
    const entries: LayerEntry[] = [{ type: 'file', path: 'data/big.bin', mode: 0o644, source: { file: src } }];
    const layer = await writeLayer(store, entries, { upload: () => store.beginUpload('streamed') });
    assert.equal(await client.hasBlob('team/streamed', layer.digest), true, 'in the repository as soon as the layer is written');
    // the registry verified the digest of what was streamed: a copy reads back the same bytes
    const back: Buffer[] = [];
    for await (const c of await client.openBlob('team/streamed', layer.digest)) back.push(c as Buffer);
    assert.equal(sha(Buffer.concat(back)), layer.digest);

    // a layer that fails while it streams (a file read in place that no longer has its hash) drops its upload
    const changed: LayerEntry[] = [{ type: 'file', path: 'data/big.bin', mode: 0o644, source: { file: src, sha256: '0'.repeat(64) } }];
    const before = client.stats.uploaded;
    await assert.rejects(writeLayer(store, changed, { upload: () => store.beginUpload('dropped') }), SourceChangedError);
    assert.equal(client.stats.uploaded, before);
    assert.equal(existsSync(join(reg.storageDir, 'docker/registry/v2/repositories/team/dropped/_layers')), false, 'no blob was committed');

    // an upload the registry refuses (an invalid repository name) leaves the layer intact; the push ahead sends it whole
    const refused = await writeLayer(store, entries, { upload: () => store.beginUpload('Not/Valid!') });
    assert.equal(refused.digest, layer.digest);
    store.pushAhead('whole', { digest: layer.digest, size: layer.size });
    const img = await tinyImage(store, { layers: 1, randomKiB: 1 });
    const manifest = JSON.parse(img.manifest.toString('utf8')) as { layers: Array<{ digest: string; size: number; mediaType: string }> };
    manifest.layers.push({ digest: layer.digest, size: layer.size, mediaType: layer.mediaType });
    const img2 = Buffer.from(JSON.stringify(manifest));
    await store.putManifest('whole', 'v1', img2, OCI);
    assert.equal(store.lastPush[layer.digest], 'uploaded');
    assert.equal(await client.hasBlob('team/whole', layer.digest), true);
  });

  it('streams a blob once, not kept; a listing of it verifies its bytes on the listing thread: a mismatch fails it', async () => {
    const store = openImageStore(`${reg.url}/team`, { cacheDir: `${tmp.dir}/cache-stream-once` }) as RegistryStore;
    const seed = new OciLayoutStore(`${tmp.dir}/seed-stream`);
    const layer = await writeLayer(seed, [{ type: 'file', path: 'usr/lib/python3.11/os.py', mode: 0o644, source: { data: randomBytes(3 << 20) } }]);
    const bytes = await (async () => {
      const parts: Buffer[] = [];
      for await (const c of await seed.openBlob(layer.digest)) parts.push(c as Buffer);
      return Buffer.concat(parts);
    })();
    const origin = { host: 'elsewhere:1', repo: 'x', open: async () => Readable.from([bytes.subarray(0, 1 << 20), bytes.subarray(1 << 20)]) };
    store.adoptBlob(layer.digest, origin);
    const read: Buffer[] = [];
    for await (const c of await store.streamBlob(layer.digest)) read.push(c as Buffer);
    assert.deepEqual(Buffer.concat(read), bytes);
    assert.equal(await store.hasBlob(layer.digest), false, 'not kept');
    assert.deepEqual((await listLayerEntries(store, { digest: layer.digest, mediaType: layer.mediaType })).map((e) => e.name), ['usr', 'usr/lib', 'usr/lib/python3.11', 'usr/lib/python3.11/os.py']);

    // the same bytes under another digest: the listing thread's hash says so (and the careful read after it too)
    const claimed = sha(Buffer.from('something else'));
    store.adoptBlob(claimed, origin);
    await assert.rejects(listLayerEntries(store, { digest: claimed, mediaType: layer.mediaType }), /digest mismatch/);
  });

  it('resolves registry base images (Docker v2 and OCI without mediaType, multi-arch index) and mounts their layers', async () => {
    const seed = new OciLayoutStore(`${tmp.dir}/seed`);
    const client = new RegistryClient(parseRegistryUrl(reg.url));
    const dockerImg = await tinyImage(seed, { docker: true, randomKiB: 64 });
    await pushRaw(client, seed, 'team/base-docker', 'v1', dockerImg, DOCKER);
    const bare = await tinyImage(seed, { noMediaType: true, randomKiB: 64 });
    await pushRaw(client, seed, 'team/base-bare', 'v1', bare, OCI);
    const arm = await tinyImage(seed, { arch: 'arm64' });
    const armDigest = await pushRaw(client, seed, 'team/base-multi', 'arm', arm, OCI);
    const amdDigest = await pushRaw(client, seed, 'team/base-multi', 'amd', bare, OCI);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: OCI, digest: armDigest, size: arm.manifest.length, platform: { architecture: 'arm64', os: 'linux' } },
        { mediaType: OCI, digest: amdDigest, size: bare.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    }));
    await client.putManifest('team/base-multi', 'latest', index, 'application/vnd.oci.image.index.v1+json');
    // what the registry hands back for the bare manifest: typed by its Content-Type
    assert.equal((await client.getManifest('team/base-bare', 'v1'))?.mediaType, OCI);

    const store = openImageStore(`${reg.url}/team`, { cacheDir: `${tmp.dir}/cache3` }) as RegistryStore;
    const d = await resolveBaseImage(`${reg.host}/team/base-docker:v1`, store);
    assert.equal(d.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip', 'Docker layer types become OCI ones');
    assert.equal(d.digest, sha(dockerImg.manifest));
    const multi = await resolveBaseImage(`docker://${reg.host}/team/base-multi`, store);
    assert.equal(multi.digest, amdDigest, 'the linux/amd64 entry of the index');
    assert.equal(multi.config.architecture, 'amd64');
    assert.equal(await store.hasBlob(multi.layers[0].digest), false, 'base layers are not downloaded just to be referenced');

    const built = await buildImage(store, { model: 'mounted', version: 'v1', files: [], entrypoints: { train: 'true' }, baseImage: `${reg.host}/team/base-bare:v1`, git: { sha: null, dirty: false }, source: 'test' });
    // pushed ahead: the base layer is mounted and the code layer uploaded while the build went on, before any manifest
    const code = built.layers[built.layers.length - 1].digest;
    for (let i = 0; i < 100 && !(await client.hasBlob('team/mounted', code)); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await client.hasBlob('team/mounted', code), true, 'the code layer is in the repository before putManifest');
    await store.putManifest('mounted', 'v1', built.manifest, built.mediaType);
    assert.equal(store.lastPush[bare.layers[0].digest], 'mounted', JSON.stringify(store.lastPush));
    assert.equal(store.lastPush[built.configDigest], 'uploaded');
    const inspect = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/mounted:v1`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal((JSON.parse(inspect.stdout) as { Layers: string[] }).Layers.length, 2);

    await assert.rejects(resolveBaseImage(`${reg.host}/team/base-multi:arm`, store), (e: Error) => e instanceof BaseImageError && /arm64; Trainyard builds linux\/amd64/.test(e.message));
    await assert.rejects(resolveBaseImage(`${reg.host}/team/missing:v1`, store), (e: Error) => e instanceof BaseImageError && /has no image "v1"/.test(e.message));
  });
});

describe('RegistryStore with token auth', function () {
  this.timeout(120_000);
  let reg: RegistryHandle;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    reg = await startRegistry({ auth: 'token' });
    tmp = tempDir('registry-token');
  });
  after(async () => {
    await reg?.stop();
    tmp?.cleanup();
  });

  it('gets bearer tokens from the challenge realm, pushes and mounts; without credentials it says what to fix', async () => {
    const url = `http://${reg.user}:${reg.password}@${reg.host}/team`;
    const store = openImageStore(url, { cacheDir: `${tmp.dir}/c1` }) as RegistryStore;
    const img = await tinyImage(store, { randomKiB: 32 });
    await store.putManifest('base', 'v1', img.manifest, OCI);
    assert.ok(reg.tokenRequests() >= 1 && reg.tokenRequests() <= 3, `${reg.tokenRequests()} token requests`);

    const built = await buildImage(store, { model: 'app', version: 'v1', files: [], entrypoints: { train: 'true' }, baseImage: `${reg.host}/team/base:v1`, git: { sha: null, dirty: false }, source: 'test' });
    await store.putManifest('app', 'v1', built.manifest, built.mediaType);
    assert.equal(store.lastPush[img.layers[0].digest], 'mounted');

    const inspect = await run('skopeo', ['inspect', '--tls-verify=false', ...reg.credsArgs(), `docker://${reg.host}/team/app:v1`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const anon = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/app:v1`]);
    assert.notEqual(anon.code, 0, 'the registry really wants a token');

    const noCreds = openImageStore(`${reg.url}/team`, { cacheDir: `${tmp.dir}/c2`, client: { retries: 0 } });
    await assert.rejects(noCreds.getManifest('app', 'v1'), /token service .* refused: 401/);
    const wrong = createHash('sha256').update('x').digest('hex');
    const bad = openImageStore(`http://${reg.user}:${wrong}@${reg.host}/team`, { cacheDir: `${tmp.dir}/c3`, client: { retries: 0 } });
    await assert.rejects(bad.getManifest('app', 'v1'), /refused: 401/);
  });
});
