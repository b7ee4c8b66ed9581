/**
 * images.compression with the real consumers: versions saved with gzip:1, gzip:9 and zstd
 * on the Debian+python3 base in a real docker-registry are read by skopeo (copy to an OCI
 * layout, which verifies every blob), unpacked by umoci (gzip; umoci 0.4 cannot read zstd
 * layers, which is why zstd is not the default), and run by podman; the same workspace
 * saved twice gives the same layers at every setting (determinism). The workspace has
 * incompressible bytes too (a random weights file), which gzip layers store (compression.ts).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ensureBaseImage } from '../components/base-image';
import { podman, podmanRunArgs } from '../components/podman';
import { startRegistry, type RegistryHandle } from '../components/registry';
import { openImageStore } from '../../backend/src/images/open';
import { parseCompression, layerMediaType } from '../../backend/src/images/compression';
import { codePieceEnds } from '../../backend/src/images/code-layer';
import { harness, type Harness } from '../../backend/test/snapshots/helpers';
import { run, tempDir } from '../../backend/test/images/helpers';

describe('images.compression: skopeo, umoci and podman read what Trainyard writes', function () {
  this.timeout(15 * 60_000);
  let reg: RegistryHandle;
  let h: Harness;
  let tmp: ReturnType<typeof tempDir>;
  let base: string;
  let ws: string;
  let weights: Buffer;
  before(async () => {
    reg = await startRegistry();
    tmp = tempDir('compression');
    h = await harness('sqlite', 64 * 1024 * 1024, { images: (dir) => openImageStore(`${reg.url}/team`, { cacheDir: join(dir, 'cache') }), localFiles: true });
    const baseDir = await ensureBaseImage();
    const cp = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${baseDir}:latest`, `docker://${reg.host}/team/debian-python3:latest`]);
    assert.equal(cp.code, 0, cp.stderr);
    base = `${reg.host}/team/debian-python3:latest`;
    ws = join(tmp.dir, 'ws');
    mkdirSync(join(ws, 'data'), { recursive: true });
    writeFileSync(join(ws, 'train.py'), 'import hashlib\nprint("compressed-" + open("/app/data/words.txt").read().split()[7], hashlib.sha256(open("/app/data/weights.bin", "rb").read()).hexdigest())\n');
    writeFileSync(join(ws, 'data', 'words.txt'), Array.from({ length: 50_000 }, (_, i) => `word${i}`).join(' '));
    weights = randomBytes(3 * 1024 * 1024 + 4321);
    writeFileSync(join(ws, 'data', 'weights.bin'), weights);
    // enough files that the code layer is compressed in several pieces (code-layer.ts): several zstd frames
    mkdirSync(join(ws, 'src'));
    for (let i = 0; i < 40; i++) writeFileSync(join(ws, 'src', `m${i}.py`), `def f(x):\n    return x * ${i}\n`);
    assert.ok(Array.from({ length: 40 }, (_, i) => `app/src/m${i}.py`).some(codePieceEnds), 'a piece ends inside src/');
  });
  after(async () => {
    await h?.close();
    await reg?.stop();
    tmp?.cleanup();
  });

  for (const setting of ['gzip:1', 'gzip:9', 'zstd']) {
    it(`${setting}: the layer media type, skopeo copy, ${setting.startsWith('gzip') ? 'umoci unpack' : 'umoci 0.4 refusing zstd'}, podman run, same digest twice`, async () => {
      const c = parseCompression(setting);
      h.ctx.config.images.compression = c;
      const tag = setting.replace(':', '-');
      const saved = await saveWorkspace(h.client, { dir: ws, model: 'comp', version: tag, baseImage: base, cacheDir: false });
      const again = await saveWorkspace(h.client, { dir: ws, model: 'comp', version: `${tag}-again`, baseImage: base, cacheDir: false });
      const manifestOf = async (label: string) => JSON.parse((await h.ctx.images.getManifest('comp', label))!.bytes.toString('utf8')) as { config: { digest: string }; layers: Array<{ mediaType: string; digest: string }> };
      const m1 = await manifestOf(tag);
      const m2 = await manifestOf(`${tag}-again`);
      assert.equal(m1.layers.at(-1)!.mediaType, layerMediaType(c));
      assert.deepEqual(m2.layers, m1.layers, 'same content, same layers');
      assert.equal(m2.config.digest, m1.config.digest);

      const layout = join(tmp.dir, `layout-${tag}`);
      const cp = await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${saved.version.imageRef}`, `oci:${layout}:${tag}`]);
      assert.equal(cp.code, 0, cp.stderr);
      const bundle = join(tmp.dir, `bundle-${tag}`);
      const unpack = await run('umoci', ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle]);
      if (c.algorithm === 'gzip') {
        assert.equal(unpack.code, 0, unpack.stderr);
        assert.equal(readFileSync(join(bundle, 'rootfs', 'app', 'data', 'words.txt'), 'utf8').split(' ')[7], 'word7');
        assert.deepEqual(readFileSync(join(bundle, 'rootfs', 'app', 'data', 'weights.bin')), weights, 'the stored (incompressible) pieces unpack to the same bytes');
      } else {
        assert.notEqual(unpack.code, 0, 'umoci 0.4 reads no zstd layers; if this passes, umoci learned zstd: update the compression notes');
        assert.match(unpack.stderr, /zstd|media ?type|unsupported/i, unpack.stderr);
        assert.equal(existsSync(join(bundle, 'rootfs', 'app', 'train.py')), false);
      }

      const out = await podman(['run', '--rm', '--tls-verify=false', ...podmanRunArgs(), '--network=none', again.version.imageRef, 'sh', '-c', saved.version.entrypoints.train], { timeoutMs: 5 * 60_000 });
      assert.match(out.stdout, new RegExp(`compressed-word7 ${createHash('sha256').update(weights).digest('hex')}`));
    });
  }
});
