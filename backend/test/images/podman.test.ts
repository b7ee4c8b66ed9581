/**
 * The real thing: save examples/eta-correction on the Debian+python3 test base image,
 * then run its `train` entrypoint in podman (as an executor would: sh -c <command>
 * in /app with the run's env) and read the metric lines.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMetricLine } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ensureBaseImage } from '../../../test/components/base-image';
import { loadLayout, podman, podmanRunArgs } from '../../../test/components/podman';
import { harness, type Harness } from '../snapshots/helpers';
import { run } from './helpers';

const EXAMPLE = fileURLToPath(new URL('../../../examples/eta-correction', import.meta.url));

describe('a saved version runs in podman', function () {
  this.timeout(15 * 60_000);
  let h: Harness;
  before(async () => (h = await harness('sqlite', 64 * 1024 * 1024)));
  after(async () => h.close());

  it('trains eta-correction inside the image built on the Debian base', async () => {
    const baseDir = await ensureBaseImage();
    const saved = await saveWorkspace(h.client, { dir: EXAMPLE, model: 'eta-correction', version: 'podman-e2e', baseImage: `oci-layout:${baseDir}:latest` });
    const v = saved.version;
    assert.deepEqual(Object.keys(v.entrypoints).sort(), ['predict', 'train']);
    assert.ok(saved.totalFiles >= 6 && !saved.version.imageRef.includes('output'), `${saved.totalFiles} files`);
    const inspect = await run('skopeo', ['inspect', `oci:${join(h.dir, 'images')}:eta-correction:podman-e2e`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(JSON.parse(inspect.stdout).Layers.length, 2);

    const name = await loadLayout(join(h.dir, 'images'), 'localhost/trainyard-test/eta-correction:podman-e2e', 'eta-correction:podman-e2e');
    const r = await podman(
      ['run', '--rm', ...podmanRunArgs(), '--network=none', '-e', 'TRAINYARD_PARAMS={"region":"nyc","epochs":20,"n":5000}', '-e', 'TRAINYARD_RUN_ID=run_pod', '-e', 'TRAINYARD_OUTPUT_DIR=/tmp/out', name, 'sh', '-c', `ls -A /app && echo --- && ${v.entrypoints.train} && cat /tmp/out/model.json`],
      { timeoutMs: 5 * 60_000 },
    );
    const metrics = r.stdout.split('\n').map(parseMetricLine).filter((m) => m && !('error' in m));
    assert.equal(metrics.length, 40, r.stdout);
    assert.match(r.stdout, /"region": "nyc"/);
    assert.match(r.stdout, /"run_id": "run_pod"/);
    const ls = r.stdout.slice(0, r.stdout.indexOf('---\n')).trim().split('\n');
    assert.deepEqual(ls, ['.gitignore', 'README.md', 'eta_data.py', 'notebook.ipynb', 'predict.py', 'train.py'], 'exactly the workspace files in /app');
  });
});
