/**
 * The `install` dependency strategy, for real: pip install --no-deps of the pinned delta
 * (six==1.16.0 from the package index this machine reaches) inside the Debian+python3
 * test base with podman; the site-packages it wrote becomes the dependency layer
 * (deterministic: rebuilt without its cache it has the same digest; reused by lock hash).
 * Copy falls back to install on an ABI mismatch. Refusals say why: no podman allowed,
 * no Python in the base, an unreachable index.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { captureEnvironment } from '@trainyard/shared/snapshot/environment';
import type { SnapshotEnvironment } from '@trainyard/shared';
import { ensureBaseImage } from '../components/base-image';
import { loadLayout, podman, podmanArgs, podmanRunArgs } from '../components/podman';
import { harness, type Harness } from '../../backend/test/snapshots/helpers';
import { listLayer, makeBaseImage, tempDir } from '../../backend/test/images/helpers';

/** a venv of Debian's python3 where `six 1.16.0` looks installed (metadata only: install needs no files) */
function venvWithSix(dir: string): string {
  execFileSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', dir]);
  const info = join(dir, 'lib', 'python3.11', 'site-packages', 'six-1.16.0.dist-info');
  mkdirSync(info, { recursive: true });
  writeFileSync(join(info, 'METADATA'), 'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n');
  return join(dir, 'bin', 'python');
}

type Manifest = { layers: Array<{ digest: string }>; config: { digest: string } };
const manifestOf = async (h: Harness, model: string, label: string) => JSON.parse((await h.ctx.images.getManifest(model, label))!.bytes.toString()) as Manifest;

describe('the dependency layer (install strategy)', function () {
  this.timeout(10 * 60_000);
  let h: Harness;
  let tmp: ReturnType<typeof tempDir>;
  let base: string;
  let env: SnapshotEnvironment;
  before(async () => {
    h = await harness('sqlite', 64 * 1024 * 1024, { snapshots: { podmanArgs: podmanArgs() } });
    tmp = tempDir('install');
    base = `oci-layout:${await ensureBaseImage()}:latest`;
  });
  after(async () => {
    await h?.close();
    tmp?.cleanup();
  });

  it('pip-installs the pinned delta inside the base image; the layer is deterministic and reused by lock', async () => {
    const python = venvWithSix(join(tmp.dir, 'venv'));
    env = (await (await captureEnvironment(python, { strategy: 'install' })).load()).environment;
    assert.deepEqual(env.distributions, [{ name: 'six', version: '1.16.0' }], 'no files are captured for install');
    const ws = join(tmp.dir, 'ws');
    mkdirSync(ws);
    writeFileSync(join(ws, 'train.py'), 'import six\nprint("six", six.__version__)\n');
    const s1 = await saveWorkspace(h.client, { dir: ws, model: 'inst', version: 'i1', baseImage: base, python, strategy: 'install' });
    assert.equal(s1.uploadedFiles, 1, 'only train.py is uploaded');
    const m1 = await manifestOf(h, 'inst', 'i1');
    assert.equal(m1.layers.length, 3);
    const entries = await listLayer(h.ctx.images, m1.layers[1].digest);
    const names = entries.map((e) => e[0]);
    assert.ok(names.includes('usr/local/lib/python3.11/dist-packages/six.py'), names.join('\n'));
    assert.ok(names.includes('usr/local/lib/python3.11/dist-packages/six-1.16.0.dist-info/RECORD'));
    assert.ok(!names.some((n) => n.endsWith('.pyc')), 'no bytecode (not deterministic)');
    assert.ok(entries.every((e) => e[4] === 0), 'mtime 0');
    const config = JSON.parse((await (await import('node:stream/consumers')).buffer(await h.ctx.images.openBlob(m1.config.digest))).toString()) as { history: Array<{ created_by: string }> };
    assert.match(config.history.at(-2)!.created_by, /dependency layer \(install of 1 distributions/);

    const name = await loadLayout(join(h.dir, 'images'), 'localhost/trainyard-test/inst:i1', 'inst:i1');
    const r = await podman(['run', '--rm', ...podmanRunArgs(), '--network=none', name, 'sh', '-c', s1.version.entrypoints.train]);
    assert.equal(r.stdout.trim(), 'six 1.16.0');

    appendFileSync(join(ws, 'train.py'), '# edit\n');
    const s2 = await saveWorkspace(h.client, { dir: ws, model: 'inst', version: 'i2', baseImage: base, python, strategy: 'install' });
    assert.equal(s2.uploadedFiles, 1);
    const m2 = await manifestOf(h, 'inst', 'i2');
    assert.equal(m2.layers[1].digest, m1.layers[1].digest, 'same lock, same layer');
    assert.notEqual(m2.layers[2].digest, m1.layers[2].digest);

    rmSync(join(h.ctx.dirs.blobs, '.dependency-layers'), { recursive: true, force: true });
    appendFileSync(join(ws, 'train.py'), '# edit 2\n');
    await saveWorkspace(h.client, { dir: ws, model: 'inst', version: 'i3', baseImage: base, python, strategy: 'install' });
    assert.equal((await manifestOf(h, 'inst', 'i3')).layers[1].digest, m1.layers[1].digest, 'pip again, same bytes');
  });

  it('falls back to install when copy cannot be used (ABI mismatch)', async () => {
    const body = { model: 'inst', version: 'abi', baseImage: base, files: [], entrypoints: { train: 'python -c "import six"' } };
    const files = [{ path: 'six.py', sha256: 'a'.repeat(64), size: 1, mode: 0o644 }];
    const snap = await h.svc.create({ ...body, environment: { ...env, strategy: undefined, abi: 'cpython-312-x86_64-linux-gnu', distributions: [{ name: 'six', version: '1.16.0', files }] } });
    assert.deepEqual(snap.missing, [], 'install needs none of the environment files');
    await h.svc.build(snap.id);
    const m = await manifestOf(h, 'inst', 'abi');
    assert.equal(m.layers.length, 3);
    assert.ok((await listLayer(h.ctx.images, m.layers[1].digest)).some((e) => e[0] === 'usr/local/lib/python3.11/dist-packages/six.py'));
  });

  it('refuses clearly when neither strategy can be used, and when the index cannot be reached', async () => {
    const body = { model: 'inst', version: 'no', baseImage: base, files: [], entrypoints: { train: 'true' } };
    const mismatched = { ...env, strategy: undefined, abi: 'cpython-312-x86_64-linux-gnu' };
    const never = await harness('sqlite', 1 << 20, { snapshots: { podmanArgs: podmanArgs() } });
    try {
      never.ctx.config.executor.local.podman = 'never';
      await assert.rejects(
        never.svc.create({ ...body, environment: mismatched }),
        /copy cannot be used: the workspace Python's ABI is cpython-312-x86_64-linux-gnu but the base image's is cpython-311-x86_64-linux-gnu.*the install strategy .* cannot be used: .*executor.local.podman is "never"/s,
      );
      const bare = await makeBaseImage(join(tmp.dir, 'bare'));
      await assert.rejects(never.svc.create({ ...body, baseImage: bare.ref, environment: env }), /has no Python .*\(neither copied nor pip-installed\)/);
    } finally {
      await never.close();
    }

    const saved = { ...process.env };
    Object.assign(process.env, { PIP_INDEX_URL: 'http://127.0.0.1:9/simple', PIP_FIND_LINKS: '', PIP_RETRIES: '0', PIP_TIMEOUT: '5' });
    try {
      const snap = await h.svc.create({ ...body, version: 'offline', environment: { ...env, distributions: [{ name: 'six', version: '1.15.0' }] } });
      await assert.rejects(h.svc.build(snap.id), /pip install of 1 distributions inside .* failed \(exit code 1\)\. The container could not reach the package index http:\/\/127\.0\.0\.1:9\/simple/);
      assert.equal(await h.ctx.images.getManifest('inst', 'offline'), null);
    } finally {
      for (const k of ['PIP_INDEX_URL', 'PIP_FIND_LINKS', 'PIP_RETRIES', 'PIP_TIMEOUT']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });
});
