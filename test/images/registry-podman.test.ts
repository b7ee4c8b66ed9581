/**
 * End to end with a registry: the Debian+python3 test base image is copied into a
 * real docker-registry (skopeo), examples/eta-correction is saved on it with
 * images.registry = http://127.0.0.1:PORT/team, podman pulls the version from the
 * registry and trains; a re-save after a one-file edit pushes one small layer
 * (the base layer is already there) and runs the edited code.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMetricLine } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ensureBaseImage } from '../components/base-image';
import { podman, podmanRunArgs } from '../components/podman';
import { startRegistry, type RegistryHandle } from '../components/registry';
import { openImageStore } from '../../backend/src/images/open';
import { RegistryStore } from '../../backend/src/images/registry-store';
import { harness, type Harness } from '../../backend/test/snapshots/helpers';
import { run, tempDir } from '../../backend/test/images/helpers';

const EXAMPLE = fileURLToPath(new URL('../../examples/eta-correction', import.meta.url));

describe('versions in a registry run in podman', function () {
  this.timeout(15 * 60_000);
  let reg: RegistryHandle;
  let h: Harness;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    reg = await startRegistry();
    tmp = tempDir('reg-podman');
    h = await harness('sqlite', 64 * 1024 * 1024, { images: (dir) => openImageStore(`${reg.url}/team`, { cacheDir: join(dir, 'cache') }) });
  });
  after(async () => {
    await h?.close();
    await reg?.stop();
    tmp?.cleanup();
  });

  it('saves on a registry base, pulls with podman, trains; a re-save pushes only the code layer', async () => {
    const baseDir = await ensureBaseImage();
    const cp = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${baseDir}:latest`, `docker://${reg.host}/team/debian-python3:latest`]);
    assert.equal(cp.code, 0, cp.stderr);
    const ws = join(tmp.dir, 'ws');
    cpSync(EXAMPLE, ws, { recursive: true });

    const base = `${reg.host}/team/debian-python3:latest`;
    const saved = await saveWorkspace(h.client, { dir: ws, model: 'eta-correction', version: 'reg1', baseImage: base });
    const store = h.ctx.images as RegistryStore;
    const outcomes = Object.values(store.lastPush);
    assert.deepEqual(outcomes.filter((o) => o === 'mounted').length, 1, JSON.stringify(store.lastPush));
    assert.equal(saved.version.imageRef, `${reg.host}/team/eta-correction:reg1`);
    const inspect = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${saved.version.imageRef}`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal((JSON.parse(inspect.stdout) as { Layers: string[] }).Layers.length, 2);

    const trainIn = async (ref: string) => {
      const r = await podman(['run', '--rm', '--tls-verify=false', ...podmanRunArgs(), '--network=none', '-e', 'TRAINYARD_PARAMS={"region":"sea","epochs":5,"n":500}', '-e', 'TRAINYARD_OUTPUT_DIR=/tmp/out', ref, 'sh', '-c', saved.version.entrypoints.train], { timeoutMs: 5 * 60_000 });
      return r.stdout;
    };
    const out1 = await trainIn(saved.version.imageRef);
    assert.equal(out1.split('\n').map(parseMetricLine).filter((m) => m && !('error' in m)).length, 10, out1);

    const train = join(ws, 'train.py');
    writeFileSync(train, `${readFileSync(train, 'utf8')}\nprint("edited-after-save")\n`);
    const before = store.client.stats.uploadedBytes;
    const again = await saveWorkspace(h.client, { dir: ws, model: 'eta-correction', version: 'reg2', baseImage: base });
    assert.equal(again.uploadedFiles, 1);
    const pushed = Object.values(store.lastPush);
    assert.deepEqual(pushed.filter((o) => o === 'uploaded').length, 2, `config + code layer: ${JSON.stringify(store.lastPush)}`);
    assert.ok(pushed.includes('present'), 'the base layer is already in the repository');
    assert.ok(store.client.stats.uploadedBytes - before < 200 * 1024, `${store.client.stats.uploadedBytes - before} bytes pushed on re-save`);
    const out2 = await trainIn(again.version.imageRef);
    assert.match(out2, /edited-after-save/);
  });
});
