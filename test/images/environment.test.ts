/**
 * Environment capture and the dependency layer (copy strategy), for real: a venv of
 * Debian's /usr/bin/python3 (same ABI tag as the Debian base image) holding one
 * installed distribution (a wheel-style install: package + dist-info with RECORD);
 * save on the Debian base, then import it inside the image with podman. A re-save
 * reuses the dependency layer (same lock); what neither copy nor install can do is
 * refused with the reasons (install itself: install.test.ts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { CreateSnapshotRequest, SnapshotEnvironment } from '@trainyard/shared';
import { RACY_MS } from '@trainyard/shared/snapshot/hash-cache';
import { dependencyLayersDir } from '../../backend/src/artifacts/retention';
import type { HttpError } from '../../backend/src/errors';
import { collectGarbage } from '../../backend/src/artifacts/retention';
import { join } from 'node:path';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { captureEnvironment } from '@trainyard/shared/snapshot/environment';
import { ensureBaseImage } from '../components/base-image';
import { loadLayout, podman, podmanRunArgs } from '../components/podman';
import { harness, type Harness } from '../../backend/test/snapshots/helpers';
import { OciLayoutStore } from '../../backend/src/images/oci-layout';
import { SnapshotsService } from '../../backend/src/snapshots/service';
import { listLayer, tempDir } from '../../backend/test/images/helpers';
import { makeVenv } from '../helpers/venv';

describe('the dependency layer (copy strategy)', function () {
  this.timeout(15 * 60_000);
  let h: Harness;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    h = await harness('sqlite', 64 * 1024 * 1024);
    tmp = tempDir('env');
  });
  after(async () => {
    await h?.close();
    tmp?.cleanup();
  });

  it('captures the environment of a chosen interpreter', async () => {
    const python = makeVenv(join(tmp.dir, 'venv0'));
    // installed files that are links: one out of site-packages (left out), one to a file inside it (taken, as that file's bytes)
    const site = join(tmp.dir, 'venv0', 'lib', 'python3.11', 'site-packages');
    writeFileSync(join(tmp.dir, 'outside.py'), 'SECRET = 1\n');
    symlinkSync(join(tmp.dir, 'outside.py'), join(site, 'tinydep', 'escape.py'));
    symlinkSync('__init__.py', join(site, 'tinydep', 'alias.py'));
    appendFileSync(join(site, 'tinydep-1.2.3.dist-info', 'RECORD'), 'tinydep/escape.py,,\ntinydep/alias.py,,\n');
    const env = await (await captureEnvironment(python)).load();
    assert.equal(env.environment.platform, 'linux');
    assert.equal(env.environment.abi, 'cpython-311-x86_64-linux-gnu');
    assert.match(env.environment.python, /^3\.11\./);
    assert.deepEqual(env.environment.distributions.map((d) => [d.name, d.version]), [['tinydep', '1.2.3']]);
    const paths = env.environment.distributions[0].files!.map((f) => f.path);
    assert.ok(paths.includes('tinydep/__init__.py') && paths.includes('tinydep-1.2.3.dist-info/RECORD'), paths.join(','));
    assert.ok(!paths.some((p) => p.includes('..')), 'files outside site-packages are left out');
    assert.ok(!paths.includes('tinydep/escape.py'), 'a link out of site-packages is left out');
    assert.ok(!paths.includes('tinydep/alias.py') && paths.includes('tinydep/__init__.py'), 'a link inside is the file it names');
    await assert.rejects(captureEnvironment('/nonexistent/python'), /cannot read the Python environment of \/nonexistent\/python: not found/);
  });

  it('puts the delta into a layer at the base site-packages; the image imports it; a re-save reuses the layer', async () => {
    const baseDir = await ensureBaseImage();
    const python = makeVenv(join(tmp.dir, 'venv1'));
    const ws = join(tmp.dir, 'ws');
    mkdirSync(ws);
    writeFileSync(join(ws, 'train.py'), 'import tinydep\nprint(tinydep.hello())\n');
    const base = `oci-layout:${baseDir}:latest`;
    const calls: string[] = [];
    const client = {
      ...h.client,
      inspectBaseImage: (ref: string) => (calls.push('inspectBaseImage'), h.client.inspectBaseImage!(ref)),
      createSnapshot: (body: Parameters<typeof h.client.createSnapshot>[0]) => (calls.push('createSnapshot'), h.client.createSnapshot(body)),
    };
    const s1 = await saveWorkspace(client, { dir: ws, model: 'deps', version: 'd1', baseImage: base, python });
    assert.deepEqual(calls, ['inspectBaseImage', 'createSnapshot'], 'the base is read while the workspace is hashed');
    assert.equal(s1.uploadedFiles, 1 + 6, 'train.py + the 6 files of tinydep');
    const manifest = JSON.parse((await h.ctx.images.getManifest('deps', 'd1'))!.bytes.toString()) as { layers: Array<{ digest: string }> };
    assert.equal(manifest.layers.length, 3);
    const depEntries = (await listLayer(h.ctx.images, manifest.layers[1].digest)).map((e) => e[0]);
    assert.ok(depEntries.includes('usr/local/lib/python3.11/dist-packages/tinydep/__init__.py'), depEntries.join('\n'));
    assert.ok(depEntries.includes('usr/local/lib/python3.11/dist-packages/tinydep-1.2.3.dist-info/METADATA'));

    const name = await loadLayout(join(h.dir, 'images'), 'localhost/trainyard-test/deps:d1', 'deps:d1');
    const r = await podman(['run', '--rm', ...podmanRunArgs(), '--network=none', name, 'sh', '-c', s1.version.entrypoints.train]);
    assert.equal(r.stdout.trim(), 'tinydep says hi');

    appendFileSync(join(ws, 'train.py'), '# edit\n');
    const s2 = await saveWorkspace(h.client, { dir: ws, model: 'deps', version: 'd2', baseImage: base, python });
    assert.equal(s2.uploadedFiles, 1);
    const m2 = JSON.parse((await h.ctx.images.getManifest('deps', 'd2'))!.bytes.toString()) as { layers: Array<{ digest: string }> };
    assert.equal(m2.layers[1].digest, manifest.layers[1].digest, 'same lock, same dependency layer');
    assert.notEqual(m2.layers[2].digest, manifest.layers[2].digest);
  });

  it('inspects a base image before a save, remembers the answer by its layers on disk, and refuses what the server may not read', async () => {
    const baseDir = await ensureBaseImage();
    const base = `oci-layout:${baseDir}:latest`;
    const info = await h.svc.inspectBase(base);
    assert.deepEqual(info.python, { version: '3.11', abi: 'cpython-311-x86_64-linux-gnu', siteDir: '/usr/local/lib/python3.11/dist-packages' });
    assert.equal(info.layers, 1);
    assert.match(info.digest, /^sha256:[0-9a-f]{64}$/);
    const scansDir = join(h.dir, 'blobs', '.base-scans');
    const [file] = readdirSync(scansDir);
    const remembered = JSON.parse(readFileSync(join(scansDir, file), 'utf8')) as { layers: string[]; distributions: Array<[string, string]> };
    assert.equal(remembered.layers.length, 1);
    assert.equal(remembered.distributions.length, info.distributions);

    // a new backend (another store over the same data home) takes the remembered answer without reading the layer
    const fresh = async () => new SnapshotsService({ ...h.ctx, images: new OciLayoutStore(join(h.dir, 'images')) }).inspectBase(base);
    writeFileSync(join(scansDir, file), JSON.stringify({ ...remembered, distributions: [...remembered.distributions, ['only-in-the-file', '1.0']] }));
    assert.equal((await fresh()).distributions, info.distributions + 1, 'the remembered scan was used');
    // a torn or foreign file is scanned again and rewritten
    writeFileSync(join(scansDir, file), '{"layers": [');
    assert.equal((await fresh()).distributions, info.distributions);
    assert.equal(JSON.parse(readFileSync(join(scansDir, file), 'utf8')).distributions.length, info.distributions);
    writeFileSync(join(scansDir, file), JSON.stringify({ ...remembered, layers: ['sha256:other'] }));
    assert.equal((await fresh()).distributions, info.distributions);
    // one written under the scan's older rules (before whiteouts were applied) is scanned again
    const { format: _, ...older } = { ...remembered, distributions: [...remembered.distributions, ['only-in-the-file', '1.0']] } as typeof remembered & { format?: number };
    writeFileSync(join(scansDir, file), JSON.stringify(older));
    assert.equal((await fresh()).distributions, info.distributions);

    // it also says which python3 a version links to, so a new backend builds without listing the base's layers
    const scanned = JSON.parse(readFileSync(join(scansDir, file), 'utf8')) as { format: number; interpreter: string };
    assert.equal(scanned.interpreter, 'usr/bin/python3', 'the Debian base has no /usr/local/bin/python3');
    writeFileSync(join(scansDir, file), JSON.stringify({ ...scanned, interpreter: 'usr/local/bin/python3' }));
    const svc = new SnapshotsService({ ...h.ctx, images: new OciLayoutStore(join(h.dir, 'images')) });
    const ws = join(tmp.dir, 'ws-interp');
    mkdirSync(ws);
    writeFileSync(join(ws, 'train.py'), 'print(1)\n');
    const saved = await saveWorkspace({ createSnapshot: (b) => svc.create(b), putBlob: (sha, d) => svc.putBlob(sha, Buffer.from(d)), buildSnapshot: (id) => svc.build(id) }, { dir: ws, model: 'interp', version: 'i1', baseImage: base, cacheDir: false });
    const layers = (JSON.parse((await h.ctx.images.getManifest('interp', saved.version.digest))!.bytes.toString()) as { layers: Array<{ digest: string }> }).layers;
    const link = (await listLayer(h.ctx.images, layers.at(-1)!.digest)).find((e) => e[0] === 'opt/trainyard/bin/python');
    assert.equal(link?.[3], '../../../usr/local/bin/python3', 'the remembered scan was used, not a listing of the layers');

    await assert.rejects(h.svc.inspectBase(`oci-layout:${join(tmp.dir, 'no-such-layout')}`), /is not an OCI image layout \(no index\.json\)/);
    await assert.rejects(h.svc.inspectBase('evil.example:5000/x/y:1'), /registry evil\.example:5000 is not allowed on this server/);
    const allowed = h.ctx.config.images.allowLayoutPaths;
    h.ctx.config.images.allowLayoutPaths = false;
    try {
      await assert.rejects(h.svc.inspectBase(base), /OCI layout paths on the server are allowed only in the embedded mode/);
    } finally {
      h.ctx.config.images.allowLayoutPaths = allowed;
    }
  });

  /** the Debian base, a venv holding tinydep, and a workspace that imports it */
  const depWorkspace = async (name: string) => {
    const base = `oci-layout:${await ensureBaseImage()}:latest`;
    const python = makeVenv(join(tmp.dir, `venv-${name}`));
    const ws = join(tmp.dir, `ws-${name}`);
    mkdirSync(ws);
    writeFileSync(join(ws, 'train.py'), 'import tinydep\n');
    return { base, python, ws };
  };

  it('stores an environment once, named by digest from its snapshots; the collector keeps the uploads it lists; a restarted backend builds from it', async () => {
    const { base, python, ws } = await depWorkspace('store');
    // saves that stop after their uploads: the snapshots wait, unbuilt, with their files staged
    const stopped = { ...h.client, buildSnapshot: async () => { throw new Error('not built'); } };
    await assert.rejects(saveWorkspace(stopped, { dir: ws, model: 'envstore', version: 'e1', baseImage: base, python, cacheDir: false }), /not built/);
    await assert.rejects(saveWorkspace(stopped, { dir: ws, model: 'envstore', version: 'e2', baseImage: base, python, cacheDir: false }), /not built/);
    const rows = await h.ctx.db.selectFrom('snapshots').select(['id', 'manifest']).where('model', '=', 'envstore').execute();
    assert.equal(rows.length, 2);
    const stored = rows.map((r) => JSON.parse(r.manifest) as { environment?: unknown; environmentDigest?: string });
    assert.ok(stored.every((m) => m.environment === undefined && /^[0-9a-f]{64}$/.test(m.environmentDigest ?? '')), 'the rows name the environment');
    assert.equal(stored[0].environmentDigest, stored[1].environmentDigest);
    const envFiles = readdirSync(join(h.ctx.dirs.blobs, '.environments'));
    assert.ok(envFiles.includes(`${stored[0].environmentDigest}.json`), envFiles.join(','));
    const env = JSON.parse(readFileSync(join(h.ctx.dirs.blobs, '.environments', `${stored[0].environmentDigest}.json`), 'utf8')) as SnapshotEnvironment;
    const dataSha = env.distributions[0].files!.find((f) => f.path === 'tinydep/data.bin')!.sha256;
    assert.ok(existsSync(join(h.ctx.dirs.blobs, dataSha)), 'uploaded');
    await collectGarbage(h.ctx, { layout: false, staging: true });
    assert.ok(existsSync(join(h.ctx.dirs.blobs, dataSha)), 'listed only by the stored environment, and kept');
    // a new backend over the same data home reads the environment back and builds
    const restarted = new SnapshotsService({ ...h.ctx, images: new OciLayoutStore(join(h.dir, 'images')) });
    const v = await restarted.build(rows[0].id);
    const layers = (JSON.parse((await h.ctx.images.getManifest('envstore', v.digest))!.bytes.toString()) as { layers: Array<{ digest: string }> }).layers;
    assert.equal(layers.length, 3, 'base, dependencies, code');
    assert.ok((await listLayer(h.ctx.images, layers[1].digest)).some((e) => e[0].endsWith('tinydep/data.bin')));

    // a stored environment damaged on disk is not used: dropped, and asked for again
    const envFile = join(h.ctx.dirs.blobs, '.environments', `${stored[0].environmentDigest}.json`);
    writeFileSync(envFile, '{"python": "3.11.2", "distributions": []}');
    const again = new SnapshotsService({ ...h.ctx, images: new OciLayoutStore(join(h.dir, 'images')) });
    await assert.rejects(again.create({ model: 'envstore', files: [], entrypoints: { train: 'true' }, baseImage: base, environmentDigest: stored[0].environmentDigest }), /does not have the environment/);
    assert.ok(!existsSync(envFile));
  });

  it('builds on the base image as the snapshot\'s create resolved it, even if its tag has moved since', async () => {
    const { python, ws } = await depWorkspace('moved');
    // a copy of the base's layout whose tag can be moved: to the same image under another manifest digest
    const layout = join(tmp.dir, 'moving-base');
    cpSync(await ensureBaseImage(), layout, { recursive: true });
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number; annotations?: Record<string, string> }> };
    const first = index.manifests[0].digest;
    const bytes = readFileSync(join(layout, 'blobs/sha256', first.slice(7)));
    const doc = JSON.parse(bytes.toString('utf8')) as { annotations?: Record<string, string> };
    const moved = Buffer.from(JSON.stringify({ ...doc, annotations: { ...doc.annotations, 'test.moved': 'yes' } }));
    const movedDigest = `sha256:${createHash('sha256').update(moved).digest('hex')}`;
    writeFileSync(join(layout, 'blobs/sha256', movedDigest.slice(7)), moved);
    const base = `oci-layout:${layout}:latest`;
    const stopped = { ...h.client, buildSnapshot: async () => { throw new Error('not built yet'); } };
    await assert.rejects(saveWorkspace(stopped, { dir: ws, model: 'moved', version: 'm1', baseImage: base, python, cacheDir: false }), /not built yet/);
    const row = await h.ctx.db.selectFrom('snapshots').select('id').where('model', '=', 'moved').executeTakeFirstOrThrow();
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ ...index, manifests: [{ ...index.manifests[0], digest: movedDigest, size: moved.length }] }));
    const v = await h.svc.build(row.id);
    assert.equal(v.baseDigest, first, 'the base the dependency layer was planned for');
    // a new snapshot resolves the tag again
    const v2 = await saveWorkspace(h.client, { dir: ws, model: 'moved', version: 'm2', baseImage: base, python, cacheDir: false });
    assert.equal(v2.version.baseDigest, movedDigest);
  });

  it('sends an environment unchanged since the last save by its digest, with no paths for its files; a backend without it gets it whole', async () => {
    const { base, python, ws } = await depWorkspace('digest');
    await new Promise((r) => setTimeout(r, RACY_MS + 100)); // the venv settles, so its capture is remembered
    const cacheDir = join(tmp.dir, 'client-cache-digest');
    const local = await harness('sqlite', 64 << 20, { localFiles: true });
    const other = await harness('sqlite', 64 << 20, { localFiles: true });
    try {
      const sentTo = (target: Harness) => {
        const bodies: CreateSnapshotRequest[] = [];
        const calls: string[] = [];
        const client = {
          ...target.client,
          createSnapshot: async (body: CreateSnapshotRequest) => {
            bodies.push(body);
            try {
              return await target.client.createSnapshot(body);
            } catch (err) {
              calls.push(`${(err as { status?: number }).status}`);
              throw err;
            }
          },
          useLocalFiles: async (id: string, files: Array<{ sha256: string; path: string }>) => (calls.push(`useLocalFiles ${files.length}`), target.client.useLocalFiles!(id, files)),
        };
        return { client, bodies, calls };
      };
      const save = (c: ReturnType<typeof sentTo>, version: string) => saveWorkspace(c.client, { dir: ws, model: 'bydigest', version, baseImage: base, python, cacheDir });

      const first = sentTo(local);
      await save(first, 'd1');
      assert.ok(first.bodies[0].environment && !first.bodies[0].environmentDigest, 'a first capture goes whole');
      assert.equal(first.bodies[0].localFiles!.length, 1 + 6, 'with the paths of its files');

      appendFileSync(join(ws, 'train.py'), '# edit\n');
      const second = sentTo(local);
      const r2 = await save(second, 'd2');
      assert.equal(second.bodies.length, 1, 'one create: the backend had it');
      const b2 = second.bodies[0];
      assert.equal(b2.environment, undefined);
      assert.match(b2.environmentDigest ?? '', /^[0-9a-f]{64}$/);
      const [stored] = readdirSync(join(local.ctx.dirs.blobs, '.environments'));
      assert.equal(stored, `${b2.environmentDigest}.json`, 'the client and the backend hash it alike');
      assert.deepEqual(b2.localFiles!.map((f) => f.path), [join(ws, 'train.py')], 'no paths for the environment');
      assert.deepEqual(second.calls, [], 'nothing offered after: the dependency layer is remembered');
      assert.equal(r2.version.fileCount, 1);

      // restarted, with the dependency layer forgotten: the build needs the environment's files, whose paths go after the manifest
      rmSync(dependencyLayersDir(local.ctx), { recursive: true, force: true });
      appendFileSync(join(ws, 'train.py'), '# edit 2\n');
      const svc = new SnapshotsService(local.ctx);
      const restarted = { ...local, client: { createSnapshot: (b: CreateSnapshotRequest) => svc.create(b), putBlob: (sha: string, d: Uint8Array) => svc.putBlob(sha, Buffer.from(d)), buildSnapshot: (id: string) => svc.build(id), onThisMachine: true, useLocalFiles: (id: string, f: Array<{ sha256: string; path: string }>) => svc.useLocalFiles(id, f) } } as unknown as Harness;
      const third = sentTo(restarted);
      const r3 = await save(third, 'd3');
      assert.deepEqual(third.calls, ['useLocalFiles 6']);
      assert.deepEqual([r3.localFiles, r3.uploadedFiles, r3.totalFiles], [7, 0, 7], 'the environment\'s files count among the files');

      // another backend has never seen it: 409, then the environment itself
      const fresh = sentTo(other);
      const r4 = await save(fresh, 'd4');
      assert.deepEqual(fresh.calls, ['409']);
      assert.ok(fresh.bodies[1].environment && fresh.bodies[1].localFiles!.length === 7);
      const m3 = JSON.parse((await local.ctx.images.getManifest('bydigest', 'd3'))!.bytes.toString()) as { layers: Array<{ digest: string }> };
      const m4 = JSON.parse((await other.ctx.images.getManifest('bydigest', 'd4'))!.bytes.toString()) as { layers: Array<{ digest: string }> };
      assert.equal(m4.layers[1].digest, m3.layers[1].digest, 'the same dependency layer either way');
      assert.equal(r4.version.fileCount, 1);

      const body = { model: 'bydigest', files: [], entrypoints: { train: 'true' }, baseImage: base };
      await assert.rejects(other.svc.create({ ...body, environmentDigest: 'f'.repeat(64) }), (err: HttpError) => err.status === 409 && (err.details as { environmentUnknown?: boolean }).environmentUnknown === true && /does not have the environment sha256 f{64}: send the environment itself/.test(err.message));
      await assert.rejects(other.svc.create({ ...body, environmentDigest: b2.environmentDigest, environment: first.bodies[0].environment }), /send the environment or its digest \(environmentDigest\), not both/);
    } finally {
      await local.close();
      await other.close();
    }
  });

  it('refuses what neither strategy can do, saying why', async () => {
    const baseDir = await ensureBaseImage();
    const python = makeVenv(join(tmp.dir, 'venv2'));
    const env = (await (await captureEnvironment(python)).load()).environment;
    const body = { model: 'deps', version: 'bad', baseImage: `oci-layout:${baseDir}:latest`, files: [], entrypoints: { train: 'true' } };
    // copy is impossible and so is install (this backend may not use podman): both reasons are given
    h.ctx.config.executor.local.podman = 'never';
    try {
      await assert.rejects(h.svc.create({ ...body, environment: { ...env, abi: 'cpython-312-x86_64-linux-gnu' } }), /ABI is cpython-312-x86_64-linux-gnu but the base image's is cpython-311-x86_64-linux-gnu.*install strategy.*"never"/s);
      await assert.rejects(h.svc.create({ ...body, environment: { ...env, platform: 'darwin' } }), /runs on darwin, not linux.*--python/);
      await assert.rejects(h.svc.create({ ...body, environment: { ...env, strategy: 'install' } }), /the install strategy was asked for; and the install strategy .* cannot be used/);
    } finally {
      h.ctx.config.executor.local.podman = 'auto';
    }
  });
});
