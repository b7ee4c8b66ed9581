/**
 * The image of a snapshot: built on a base, checked by skopeo and umoci (independent
 * OCI readers), unpacked by unpackImage, and deterministic where it should be.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readdirSync, lstatSync } from 'node:fs';
import { OciLayoutStore } from '../../src/images/oci-layout';
import { buildImage, type BuildImageInput } from '../../src/images/image-builder';
import { unpackImage } from '../../src/images/unpack';
import { makeBaseImage, run, tempDir } from './helpers';

/** every path under dir (files, dirs, links), relative, sorted */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      out.push(relative(dir, p) + (lstatSync(p).isDirectory() ? '/' : ''));
      if (lstatSync(p).isDirectory() && !lstatSync(p).isSymbolicLink()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe('images/image-builder + unpack', () => {
  let t: ReturnType<typeof tempDir>;
  let store: OciLayoutStore;
  let base: Awaited<ReturnType<typeof makeBaseImage>>;
  let input: BuildImageInput;
  before(async () => {
    t = tempDir('image');
    store = new OciLayoutStore(join(t.dir, 'images'));
    base = await makeBaseImage(join(t.dir, 'base'));
    mkdirSync(join(t.dir, 'ws', 'pkg'), { recursive: true });
    writeFileSync(join(t.dir, 'ws', 'train.py'), 'import trainyard\nprint(trainyard.params())\n');
    writeFileSync(join(t.dir, 'ws', 'pkg', 'util.py'), 'X = 1\n');
    writeFileSync(join(t.dir, 'ws', 'run.sh'), '#!/bin/sh\n');
    input = {
      model: 'eta-correction',
      version: '3f2a1c9+dirty.0a1b2c3d',
      files: [
        { path: 'train.py', mode: 0o644, file: join(t.dir, 'ws', 'train.py') },
        { path: 'pkg/util.py', mode: 0o644, file: join(t.dir, 'ws', 'pkg', 'util.py') },
        { path: 'run.sh', mode: 0o755, file: join(t.dir, 'ws', 'run.sh') },
      ],
      entrypoints: { train: 'python train.py', predict: 'python predict.py' },
      baseImage: base.ref,
      git: { sha: '3f2a1c9', dirty: true },
      source: 'trainyard://snapshots/snp_test',
      created: '2030-01-02T03:04:05.000Z',
    };
  });
  after(() => t.cleanup());

  it('builds an image skopeo accepts, with the annotations, env and labels', async () => {
    const built = await buildImage(store, input);
    assert.equal(built.baseDigest, base.manifestDigest);
    assert.equal(built.layers.length, 2);
    assert.equal(built.layers[0].digest, base.layerDigest, 'base layer reused as is');
    assert.equal(await store.hasBlob(base.layerDigest), true, 'base layer copied into our store');
    await store.putManifest(input.model, input.version, built.manifest, built.mediaType);

    const ref = `oci:${store.dir}:${input.model}:${input.version}`;
    const raw = await run('skopeo', ['inspect', '--raw', ref]);
    assert.equal(raw.code, 0, raw.stderr);
    const manifest = JSON.parse(raw.stdout);
    assert.deepEqual(
      {
        created: manifest.annotations['org.opencontainers.image.created'],
        revision: manifest.annotations['org.opencontainers.image.revision'],
        source: manifest.annotations['org.opencontainers.image.source'],
        model: manifest.annotations['dev.trainyard.model'],
        version: manifest.annotations['dev.trainyard.version'],
      },
      { created: '2030-01-02T03:04:05.000Z', revision: '3f2a1c9', source: 'trainyard://snapshots/snp_test', model: 'eta-correction', version: '3f2a1c9+dirty.0a1b2c3d' },
    );
    const info = await run('skopeo', ['inspect', ref]);
    assert.equal(info.code, 0, info.stderr);
    const i = JSON.parse(info.stdout);
    assert.equal(i.Digest, built.manifestDigest);
    assert.equal(i.Architecture, 'amd64');
    assert.equal(i.Os, 'linux');
    assert.deepEqual(i.Layers, built.layers.map((l) => l.digest));
    assert.deepEqual(JSON.parse(i.Labels['dev.trainyard.entrypoints']), { predict: 'python predict.py', train: 'python train.py' });
    assert.equal(i.Labels.team, 'ml', 'base labels kept');
    assert.deepEqual(i.Env, ['LANG=C.UTF-8', 'PATH=/opt/trainyard/bin:/usr/local/bin:/usr/bin:/bin', 'PYTHONPATH=/opt/trainyard/python:/base/lib', 'PYTHONUNBUFFERED=1']);
    const config = JSON.parse((await run('skopeo', ['inspect', '--config', ref])).stdout);
    assert.equal(config.config.WorkingDir, '/app');
    assert.equal(config.rootfs.diff_ids.length, 2);
  });

  it('umoci unpacks exactly the base files, the workspace, and the helper', async () => {
    const bundle = join(t.dir, 'bundle');
    const r = await run('umoci', ['unpack', '--rootless', '--image', `${store.dir}:${input.model}:${input.version}`, bundle]);
    assert.equal(r.code, 0, r.stderr);
    const rootfs = join(bundle, 'rootfs');
    assert.deepEqual(tree(rootfs), [
      'app/', 'app/pkg/', 'app/pkg/util.py', 'app/run.sh', 'app/train.py',
      'etc/', 'etc/base-release',
      'opt/', 'opt/trainyard/', 'opt/trainyard/bin/', 'opt/trainyard/bin/python', 'opt/trainyard/python/', 'opt/trainyard/python/trainyard/', 'opt/trainyard/python/trainyard/__init__.py',
      'usr/', 'usr/local/', 'usr/local/bin/', 'usr/local/bin/python3',
    ]);
    assert.equal(readlinkSync(join(rootfs, 'opt/trainyard/bin/python')), '../../../usr/local/bin/python3', 'python -> the base python3');
    assert.equal(statSync(join(rootfs, 'app/run.sh')).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(rootfs, 'app/train.py'), 'utf8'), readFileSync(join(t.dir, 'ws', 'train.py'), 'utf8'));
    assert.match(readFileSync(join(rootfs, 'opt/trainyard/python/trainyard/__init__.py'), 'utf8'), /def log_metric/);
  });

  it('unpackImage gives the same tree as umoci', async () => {
    const dest = join(t.dir, 'unpacked');
    await unpackImage(store, input.model, input.version, dest);
    assert.deepEqual(tree(dest), tree(join(t.dir, 'bundle', 'rootfs')));
    assert.equal(readFileSync(join(dest, 'app/pkg/util.py'), 'utf8'), 'X = 1\n');
    assert.equal(statSync(join(dest, 'usr/local/bin/python3')).mode & 0o777, 0o755);
  });

  it('rebuilds the same config and layers; a one-file edit changes only the code layer', async () => {
    const a = await buildImage(store, input);
    const b = await buildImage(store, { ...input, created: '2031-01-01T00:00:00.000Z' });
    assert.equal(b.configDigest, a.configDigest);
    assert.deepEqual(b.layers, a.layers);
    assert.notEqual(b.manifestDigest, a.manifestDigest, 'created annotation differs');
    writeFileSync(join(t.dir, 'ws', 'pkg', 'util.py'), 'X = 2\n');
    const c = await buildImage(store, input);
    assert.equal(c.layers[0].digest, a.layers[0].digest, 'base layer unchanged');
    assert.notEqual(c.layers[1].digest, a.layers[1].digest, 'code layer changed');
    assert.notEqual(c.configDigest, a.configDigest);
  });

  it('builds without a base: one layer, default PATH, python -> /usr/bin/python3', async () => {
    const built = await buildImage(store, { ...input, baseImage: null, git: { sha: null, dirty: false } });
    assert.equal(built.layers.length, 1);
    assert.equal(built.baseDigest, null);
    const manifest = JSON.parse(built.manifest.toString());
    assert.equal(manifest.annotations['org.opencontainers.image.revision'], undefined);
    await store.putManifest('plain', 'v1', built.manifest, built.mediaType);
    const dest = join(t.dir, 'plain');
    await unpackImage(store, 'plain', 'v1', dest);
    assert.equal(readlinkSync(join(dest, 'opt/trainyard/bin/python')), '../../../usr/bin/python3');
    const i = JSON.parse((await run('skopeo', ['inspect', `oci:${store.dir}:plain:v1`])).stdout);
    assert.ok(i.Env.includes('PATH=/opt/trainyard/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'), i.Env.join(' '));
  });

  it('reports a base image that is not there', async () => {
    await assert.rejects(buildImage(store, { ...input, baseImage: `oci-layout:${t.dir}/nope:x` }), /not an OCI image layout/);
    await assert.rejects(buildImage(store, { ...input, baseImage: `oci-layout:${base.dir}:base:v9` }), /no image "base:v9".*refs: base:v1/);
    await assert.rejects(buildImage(store, { ...input, baseImage: 'python:3.11-slim' }), /nor a registry image \(host\[:port\]\/repo/);
  });
});
