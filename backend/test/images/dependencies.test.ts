/**
 * The dependency layer's plan and writes (dependencies.ts), without a Python: the guess of a base
 * scan from the environment and the base's config (guessBasePython), and writes of one lock that
 * meet (the second waits for the first; a stopped first leaves the second to write it).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SnapshotEnvironment } from '@trainyard/shared';
import { guessBasePython, planDependencies, writeDependencyLayer } from '../../src/images/dependencies';
import type { ImageConfig } from '../../src/images/base-image';
import type { FileSource } from '../../src/images/layer';
import { OciLayoutStore } from '../../src/images/oci-layout';
import { tempDir } from './helpers';

const env = (dists: Array<[string, string]>): SnapshotEnvironment => ({
  python: '3.12.4',
  implementation: 'cpython',
  platform: 'linux',
  machine: 'x86_64',
  abi: 'cpython-312-x86_64-linux-gnu',
  distributions: dists.map(([name, version]) => ({ name, version, files: [{ path: `${name}/__init__.py`, sha256: 'a'.repeat(64), size: 1, mode: 0o644 }] })),
});
const config = (Env: string[], history: string[] = []): ImageConfig => ({ rootfs: { type: 'layers', diff_ids: [] }, config: { Env }, history: history.map((created_by) => ({ created_by })) });

describe('images/dependencies', () => {
  it('guesses what the base scan will say from the environment and the base config', () => {
    // a python:3.12 image: Python in /usr/local, pip pinned in its build, PYTHON_SETUPTOOLS_VERSION as older ones set it
    const official = guessBasePython(env([['pip', '24.0'], ['numpy', '2.0.0']]), config(['PATH=/usr/local/bin:/usr/bin', 'PYTHON_VERSION=3.12.4', 'PYTHON_SETUPTOOLS_VERSION=69.5.1'], ['RUN /bin/sh -c set -eux; python -m pip install --no-cache-dir "pip==24.0"; pip --version']))!;
    assert.equal(official.version, '3.12');
    assert.equal(official.abi, 'cpython-312-x86_64-linux-gnu');
    assert.equal(official.siteDir, 'usr/local/lib/python3.12/site-packages');
    assert.equal(official.interpreter, 'usr/local/bin/python3');
    assert.deepEqual([...official.distributions].sort(), [['pip', '24.0'], ['setuptools', '69.5.1']]);
    assert.deepEqual(planDependencies(env([['pip', '24.0'], ['numpy', '2.0.0']]), official, 'b').delta.map((d) => d.name), ['numpy'], 'pip as the base has it is not in the delta');

    // a Debian base with its python3 package: Debian's site directory, nothing known installed
    const debian = guessBasePython(env([['numpy', '2.0.0']]), config(['PATH=/usr/bin'], ['RUN apt-get install -y python3=3.12.4-1']))!;
    assert.equal(debian.siteDir, 'usr/local/lib/python3.12/dist-packages');
    assert.equal(debian.interpreter, 'usr/bin/python3');
    assert.equal(debian.distributions.size, 0);

    assert.equal(guessBasePython({ ...env([]), python: 'unknown' }, config([])), null, 'no X.Y version: no guess');
  });

  it('a second write of the same lock waits for the first; one stopped leaves the next to write it', async () => {
    const t = tempDir('dep-writes');
    try {
      const store = new OciLayoutStore(join(t.dir, 'store'));
      const file = join(t.dir, 'mod.py');
      writeFileSync(file, 'X = 1\n');
      const e = env([['tinydep', '1.0']]);
      const plan = planDependencies(e, guessBasePython(e, config([]))!, 'b');
      let reads = 0;
      const blobSource = (): FileSource => (reads++, { file });
      const opts = { blobSource, cacheDir: join(t.dir, 'cache') };
      const [a, b] = await Promise.all([writeDependencyLayer(store, plan, opts), writeDependencyLayer(store, plan, opts)]);
      assert.equal(reads, 1, 'one write of the layer');
      assert.equal(a.digest, b.digest);
      assert.equal((await writeDependencyLayer(store, plan, opts)).reused, true, 'then it is remembered by its lock');

      const other = planDependencies(e, { ...guessBasePython(e, config([]))!, siteDir: 'usr/lib/python3/dist-packages' }, 'b');
      const stop = new AbortController();
      stop.abort(new Error('guessed wrong'));
      const stopped = writeDependencyLayer(store, other, { ...opts, signal: stop.signal });
      const waiting = writeDependencyLayer(store, other, opts);
      await assert.rejects(stopped, /guessed wrong/);
      const written = await waiting;
      assert.equal(written.reused, false);
      assert.ok(await store.hasBlob(written.digest), 'the one that waited wrote it');
    } finally {
      t.cleanup();
    }
  });
});
