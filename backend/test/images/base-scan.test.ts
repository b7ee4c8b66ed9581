/**
 * What Python a base image has (dependencies.ts scanBasePython), read from real layer blobs:
 * a later layer's whiteouts (one name, or a whole folder made opaque) hide the distributions
 * the layers below it installed (and its /usr/local/bin/python3), as a container runtime would; the layers are
 * listed at once.
 */
import assert from 'node:assert/strict';
import { OciLayoutStore } from '../../src/images/oci-layout';
import { writeLayer, type LayerEntry } from '../../src/images/layer';
import { scanBasePython } from '../../src/images/dependencies';
import { tempDir } from './helpers';

const file = (path: string): LayerEntry => ({ type: 'file', path, mode: 0o644, source: { data: Buffer.from(`${path}\n`) } });
const DIST = 'usr/lib/python3/dist-packages';

describe('images/base scan', () => {
  it('reads the Python, its ABI and the distributions the layers leave in place, whiteouts applied bottom up', async () => {
    const t = tempDir('ty-base-scan-');
    try {
      const store = new OciLayoutStore(t.dir);
      const layers = [
        [
          file('usr/lib/python3.11/os.py'),
          file('usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so'),
          file(`${DIST}/keep-1.0.dist-info/METADATA`),
          file(`${DIST}/gone-2.0.dist-info/METADATA`),
          file(`${DIST}/gone/__init__.py`),
          file(`${DIST}/old_egg-0.1.egg-info`),
          file('opt/venv/lib/python3.11/site-packages/wiped-3.0.dist-info/METADATA'),
          { type: 'symlink' as const, path: 'usr/local/bin/python3', target: 'python3.11' },
        ],
        [
          // `pip uninstall gone` and a removed egg-info file, as a builder records them
          file(`${DIST}/.wh.gone-2.0.dist-info`),
          file(`${DIST}/.wh.gone`),
          file(`${DIST}/.wh.old_egg-0.1.egg-info`),
          // the venv's site-packages replaced whole (opaque), with one distribution of its own
          file('opt/venv/lib/python3.11/site-packages/.wh..wh..opq'),
          file('opt/venv/lib/python3.11/site-packages/fresh-4.0.dist-info/METADATA'),
          // a distribution hidden and installed again in the same layer stays
          file(`${DIST}/.wh.again-1.0.dist-info`),
          file(`${DIST}/again-1.0.dist-info/METADATA`),
          // /usr/local/bin made opaque: its python3 is gone
          file('usr/local/bin/.wh..wh..opq'),
        ],
      ];
      const descs = [];
      for (const entries of layers) {
        const l = await writeLayer(store, entries);
        descs.push({ mediaType: l.mediaType, digest: l.digest, size: l.size });
      }
      const py = await scanBasePython(store, descs);
      assert.equal(py.version, '3.11');
      assert.equal(py.abi, 'cpython-311-x86_64-linux-gnu');
      assert.equal(py.siteDir, 'usr/local/lib/python3.11/dist-packages');
      assert.deepEqual([...py.distributions].sort(), [['again', '1.0'], ['fresh', '4.0'], ['keep', '1.0']]);

      // the lower layer alone still has them (the scan is per layer set)
      const lower = await scanBasePython(store, descs.slice(0, 1));
      assert.deepEqual([...lower.distributions.keys()].sort(), ['gone', 'keep', 'old-egg', 'wiped']);
      assert.equal(lower.interpreter, 'usr/local/bin/python3', 'a version links to the python3 the lower layer has');
      assert.equal(py.interpreter, 'usr/bin/python3', 'the opaque folder above hides it');
    } finally {
      t.cleanup();
    }
  });
});
