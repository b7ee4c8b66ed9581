/**
 * The dependency and code layers written ahead of the base image's scan (snapshots/dependency-ahead.ts,
 * snapshots/code-ahead.ts), for real: the Debian base, a venv of Debian's python3 holding one distribution, files read in place.
 * The base layer's listing is held back (a layout store whose reads of that one blob wait for the
 * test), so the save is caught while the scan runs: the layer of the guessed plan is there before
 * the scan ends, and the build takes it. A base whose config makes the guess wrong (it says
 * PYTHON_VERSION: a Python in /usr/local, which this base does not have) still gets the right layer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { dependencyLayersDir } from '../../backend/src/artifacts/retention';
import { OciLayoutStore } from '../../backend/src/images/oci-layout';
import { harness, type Harness } from '../../backend/test/snapshots/helpers';
import { listLayer, tempDir } from '../../backend/test/images/helpers';
import { ensureBaseImage } from '../components/base-image';
import { makeVenv } from '../helpers/venv';

/** an OCI layout store whose reads of one blob wait until release(); it counts the layers written (each asks for a staging dir) */
class HeldBlobStore extends OciLayoutStore {
  layersWritten = 0;
  private open!: () => void;
  private readonly opened = new Promise<void>((r) => (this.open = r));
  constructor(
    dir: string,
    private readonly held: string,
  ) {
    super(dir);
  }
  release(): void {
    this.open();
  }
  override stagingDir(): Promise<string> {
    this.layersWritten++;
    return super.stagingDir();
  }
  override async openBlob(digest: string): Promise<Readable> {
    if (digest === this.held) await this.opened;
    return super.openBlob(digest);
  }
}

type Json = Record<string, unknown>;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** the base layout's manifest and config */
function readLayout(dir: string): { manifest: Json & { config: { digest: string }; layers: Array<{ digest: string }> }; config: Json & { config: { Env?: string[] } } } {
  const blob = (d: string) => readFileSync(join(dir, 'blobs', 'sha256', d.slice('sha256:'.length)), 'utf8');
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(blob(index.manifests[0].digest));
  return { manifest, config: JSON.parse(blob(manifest.config.digest)) };
}

/** a copy of the layout at `dir` whose config sets more Env */
function withEnv(from: string, dir: string, env: string[]): string {
  cpSync(from, dir, { recursive: true });
  const { manifest, config } = readLayout(dir);
  const put = (b: Buffer) => (writeFileSync(join(dir, 'blobs', 'sha256', sha(b)), b), `sha256:${sha(b)}`);
  const configBytes = Buffer.from(JSON.stringify({ ...config, config: { ...config.config, Env: [...(config.config.Env ?? []), ...env] } }));
  const manifestBytes = Buffer.from(JSON.stringify({ ...manifest, config: { ...manifest.config, digest: put(configBytes), size: configBytes.length } }));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Json[] };
  index.manifests = [{ ...index.manifests[0], digest: put(manifestBytes), size: manifestBytes.length }];
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  return dir;
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error(`waited ${ms} ms for ${what}`);
  }
}

describe('the dependency and code layers, written while the base image is scanned', function () {
  this.timeout(10 * 60_000);
  let tmp: ReturnType<typeof tempDir>;
  let python: string;
  let ws: string;
  const open: Harness[] = [];
  before(async () => {
    tmp = tempDir('ahead');
    python = makeVenv(join(tmp.dir, 'venv'), 256 * 1024);
    ws = join(tmp.dir, 'ws');
    mkdirSync(ws);
    writeFileSync(join(ws, 'train.py'), 'import tinydep\n');
  });
  after(async () => {
    for (const h of open) await h.close();
    tmp?.cleanup();
  });

  /** a backend reading files in place, whose store holds back the base layer's reads */
  async function backend(baseDir: string): Promise<{ h: Harness; store: HeldBlobStore; layers: () => string[] }> {
    const held = readLayout(baseDir).manifest.layers[0].digest;
    let store!: HeldBlobStore;
    const h = await harness('sqlite', 64 << 20, { images: (dir) => (store = new HeldBlobStore(join(dir, 'images'), held)), localFiles: true });
    open.push(h);
    const cache = dependencyLayersDir(h.ctx);
    return { h, store, layers: () => (existsSync(cache) ? readdirSync(cache).filter((n) => n.endsWith('.json')) : []) };
  }

  const depLayerOf = async (h: Harness, model: string, label: string) => {
    const m = JSON.parse((await h.ctx.images.getManifest(model, label))!.bytes.toString()) as { layers: Array<{ digest: string }> };
    assert.equal(m.layers.length, 3, 'base, dependencies, code');
    return { digest: m.layers[1].digest, paths: (await listLayer(h.ctx.images, m.layers[1].digest)).map((e) => e[0]) };
  };

  it('are written from the files read in place before the scan ends, and the build takes them', async () => {
    const baseDir = await ensureBaseImage();
    const { h, store, layers } = await backend(baseDir);
    const { watchStages } = await import('@trainyard/shared/snapshot/stages');
    const done: string[] = [];
    const stop = watchStages((t) => done.push(t.stage));
    try {
      const saving = saveWorkspace(h.client, { dir: ws, model: 'ahead', version: 'a1', baseImage: `oci-layout:${baseDir}:latest`, python, cacheDir: false });
      saving.catch(() => undefined);
      await until('the dependency layer written ahead', () => layers().length === 1);
      await until('the code layer written ahead', () => done.includes('layer: code, ahead of the build'));
      const [index] = layers();
      const written = JSON.parse(readFileSync(join(dependencyLayersDir(h.ctx), index), 'utf8')) as { digest: string };
      assert.ok(await h.ctx.images.hasBlob(written.digest), 'the layer is in the store while the base is still held back');
      assert.equal(store.layersWritten, 2, 'the dependency and code layers, and nothing else, while the scan is held back');
      store.release();
      const saved = await saving;
      assert.equal(saved.version.label, 'a1');
      const dep = await depLayerOf(h, 'ahead', 'a1');
      assert.equal(dep.digest, written.digest, 'the build took the layer written ahead');
      assert.ok(dep.paths.includes('usr/local/lib/python3.11/dist-packages/tinydep/__init__.py'), dep.paths.join('\n'));
      assert.deepEqual(layers(), [index], 'no second layer for the same lock');
      assert.equal(store.layersWritten, 2, 'the build wrote no layer of its own: it took the code layer written ahead too');
      assert.equal(await pythonLinkOf(h, 'ahead', 'a1'), '../../../usr/bin/python3');
      const code = await codeLayerOf(h, 'ahead', 'a1');
      assert.ok(code.includes('app/train.py') && code.includes('opt/trainyard/bin/python'), code.join('\n'));
    } finally {
      stop();
    }
  });

  const codeEntriesOf = async (h: Harness, model: string, label: string) => {
    const m = JSON.parse((await h.ctx.images.getManifest(model, label))!.bytes.toString()) as { layers: Array<{ digest: string }> };
    return listLayer(h.ctx.images, m.layers[2].digest);
  };
  const codeLayerOf = async (h: Harness, model: string, label: string) => (await codeEntriesOf(h, model, label)).map((e) => e[0]);
  const pythonLinkOf = async (h: Harness, model: string, label: string) => (await codeEntriesOf(h, model, label)).find((e) => e[0] === 'opt/trainyard/bin/python')?.[3];

  it('a wrong guess (the config says PYTHON_VERSION, the layers have Debian\'s Python) still gives the image the right layer', async () => {
    const baseDir = withEnv(await ensureBaseImage(), join(tmp.dir, 'base-local'), ['PYTHON_VERSION=3.11.2']);
    const { h, store, layers } = await backend(baseDir);
    const saving = saveWorkspace(h.client, { dir: ws, model: 'wrong', version: 'w1', baseImage: `oci-layout:${baseDir}:latest`, python, cacheDir: false });
    saving.catch(() => undefined);
    await until('the guessed layer written ahead', () => layers().length === 1);
    const guessed = JSON.parse(readFileSync(join(dependencyLayersDir(h.ctx), layers()[0]), 'utf8')) as { digest: string };
    const guessedPaths = (await listLayer(h.ctx.images, guessed.digest)).map((e) => e[0]);
    assert.ok(guessedPaths.includes('usr/local/lib/python3.11/site-packages/tinydep/__init__.py'), `the guess was a /usr/local Python: ${guessedPaths.join(', ')}`);
    store.release();
    await saving;
    const dep = await depLayerOf(h, 'wrong', 'w1');
    assert.notEqual(dep.digest, guessed.digest);
    assert.ok(dep.paths.includes('usr/local/lib/python3.11/dist-packages/tinydep/__init__.py'), dep.paths.join('\n'));
    assert.ok(!dep.paths.some((p) => p.includes('site-packages')), dep.paths.join('\n'));
    // the code layer written ahead linked /usr/local/bin/python3; the build wrote its own, with the base's python3
    assert.equal(store.layersWritten, 4, 'two guessed layers written ahead, two written by the build');
    assert.equal(await pythonLinkOf(h, 'wrong', 'w1'), '../../../usr/bin/python3');
  });

  it('is not written when the scan has answered already (a base seen before)', async () => {
    const baseDir = await ensureBaseImage();
    const { h, store, layers } = await backend(baseDir);
    store.release();
    await h.svc.inspectBase(`oci-layout:${baseDir}:latest`);
    const stages: string[] = [];
    const { watchStages } = await import('@trainyard/shared/snapshot/stages');
    const stop = watchStages((t) => stages.push(t.stage));
    try {
      await saveWorkspace(h.client, { dir: ws, model: 'known', version: 'k1', baseImage: `oci-layout:${baseDir}:latest`, python, cacheDir: false });
    } finally {
      stop();
    }
    assert.ok(stages.includes('layer: dependencies'), stages.join(', '));
    assert.ok(!stages.includes('layer: dependencies, ahead of the base scan'), stages.join(', '));
    assert.equal(layers().length, 1);
  });
});
