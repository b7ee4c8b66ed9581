/**
 * The snapshot routes over real HTTP (the real buildServer: auth, schemas, error
 * mapping, the octet-stream parser) with the real API client and saveWorkspace.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { ApiError, TrainyardClient } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { buildServer } from '../../src/server';
import { readLayer } from '../../src/images/layer-read';
import { harness, type Harness } from './helpers';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

async function apiError(p: Promise<unknown>, status: number, message: RegExp): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, status, err.message);
    assert.match(err.message, message);
    return err;
  }
  assert.fail('expected an ApiError');
}

function responseOf(req: ClientRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

async function until(ok: () => boolean, ms = 30000): Promise<void> {  // a wait, not a time limit: a loaded machine is slow
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('snapshot routes over HTTP', () => {
  let h: Harness;
  let app: Awaited<ReturnType<typeof buildServer>>;
  let client: TrainyardClient;
  let url: string;
  const tmpFiles = () => (existsSync(h.ctx.dirs.blobs) ? readdirSync(h.ctx.dirs.blobs).filter((f) => f.startsWith('.tmp-')) : []);
  before(async () => {
    h = await harness('sqlite', 1024);
    app = await buildServer(h.ctx, { snapshots: h.svc, runs: null as never, schedules: null as never, artifacts: null as never });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    url = `http://127.0.0.1:${addr.port}`;
    client = new TrainyardClient({ baseUrl: url, token: h.ctx.token });
  });
  after(async () => {
    await app.close();
    await h.close();
  });

  it('saves a workspace end to end, uploading only what is missing', async () => {
    const ws = join(h.dir, 'ws');
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, 'train.py'), 'print(1)\n');
    writeFileSync(join(ws, 'empty.txt'), '');
    // the upload path (a loopback backend would read the files in place: local-files.test.ts)
    const first = await saveWorkspace(client, { dir: ws, model: 'eta', version: 'v1', localFiles: false });
    assert.deepEqual([first.uploadedFiles, first.totalFiles, first.version.label], [2, 2, 'v1']);
    assert.deepEqual((await client.getVersion('eta', 'v1')).digest, first.version.digest);
    const second = await saveWorkspace(client, { dir: ws, model: 'eta', version: 'v1' });
    assert.equal(second.uploadedFiles, 0);
    writeFileSync(join(ws, 'train.py'), 'print(2)\n');
    await apiError(saveWorkspace(client, { dir: ws, model: 'eta', version: 'v1' }), 409, /already has a version "v1" with different content/);
  });

  it("ends the wait for a build longer than its answer's wait on the build's event, not at the next status read", async () => {
    const ws = join(h.dir, 'ws-wake');
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, 'train.py'), 'print(3)\n');
    // a request timeout under 2 s: the build's answer does not wait (buildSnapshot waits half of it, in whole seconds)
    const short = new TrainyardClient({ baseUrl: url, token: h.ctx.token, timeoutMs: 1999 });
    // the pauses between status reads stretched to 100 s and more: only the `snapshot` event can end them in time
    const pauses: number[] = [];
    const slow = Object.assign(Object.create(short) as TrainyardClient, {
      buildSnapshot: (id: string, opts: { wait?: (ms: number) => Promise<void> } = {}) => {
        assert.ok(opts.wait, 'saveWorkspace passes a wait the events can end');
        return short.buildSnapshot(id, { ...opts, wait: (ms) => (pauses.push(ms), opts.wait!(ms * 1000)) });
      },
    });
    // events are followed when there is someone to tell the build's steps to
    const steps: string[] = [];
    const saved = await saveWorkspace(slow, { dir: ws, model: 'wake', version: 'v1', onProgress: (m) => steps.push(m) });
    assert.ok(steps.includes('writing the code layer'), steps.join(' | '));
    assert.equal(saved.version.label, 'v1');
    assert.ok(pauses.length >= 1, 'the build was still going when it was started');
  });

  it('rejects a blob whose bytes do not match its sha256 with 400 saying expected vs got', async () => {
    const err = await apiError(client.putBlob(hex('good'), Buffer.from('bad')), 400, /blob hash mismatch/);
    assert.equal(err.code, 'invalid_request');
    assert.match(err.message, new RegExp(`${hex('good')}.*${hex('bad')}`));
    assert.deepEqual(await client.putBlob(hex('good'), Buffer.from('good')), { sha256: hex('good'), size: 4 });
  });

  it('answers 415 for a non-octet-stream blob and 413 over images.maxFileBytes', async () => {
    const res = await fetch(`${url}/v1/blobs/${hex('{}')}`, { method: 'PUT', headers: { authorization: `Bearer ${h.ctx.token}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 415);
    const big = 'x'.repeat(2048);
    await apiError(client.putBlob(hex(big), Buffer.from(big)), 413, /.+/);
  });

  it('streams an upload to disk while it arrives, and stores it only once its hash matches', async () => {
    const content = 'a'.repeat(600);
    const req = request(`${url}/v1/blobs/${hex(content)}`, { method: 'PUT', headers: { authorization: `Bearer ${h.ctx.token}`, 'content-type': 'application/octet-stream' } });
    const answer = responseOf(req);
    req.write(content.slice(0, 300));
    // the first half is on disk (in a temp file, not under its name) before the rest is sent
    await until(() => tmpFiles().some((f) => statSync(join(h.ctx.dirs.blobs, f)).size === 300));
    assert.equal(existsSync(join(h.ctx.dirs.blobs, hex(content))), false);
    req.end(content.slice(300));
    const res = await answer;
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { sha256: hex(content), size: 600 });
    assert.equal(readFileSync(join(h.ctx.dirs.blobs, hex(content)), 'utf8'), content);
    assert.deepEqual(tmpFiles(), []);
  });

  it('refuses a chunked upload (no Content-Length) once it passes images.maxFileBytes, and a dropped upload, storing nothing', async () => {
    const big = 'y'.repeat(1500);
    const req = request(`${url}/v1/blobs/${hex(big)}`, { method: 'PUT', headers: { authorization: `Bearer ${h.ctx.token}`, 'content-type': 'application/octet-stream' } });
    const answer = responseOf(req);
    req.write(big.slice(0, 700));
    req.end(big.slice(700));
    const res = await answer;
    assert.equal(res.status, 413, res.body);
    assert.match(JSON.parse(res.body).error.message, /over the 1024-byte limit \(images\.maxFileBytes\); nothing was stored/);
    assert.equal(existsSync(join(h.ctx.dirs.blobs, hex(big))), false);

    const dropped = request(`${url}/v1/blobs/${hex('z'.repeat(500))}`, { method: 'PUT', headers: { authorization: `Bearer ${h.ctx.token}`, 'content-type': 'application/octet-stream' } });
    dropped.on('error', () => {});
    dropped.write('z'.repeat(100));
    await until(() => tmpFiles().length > 0);
    dropped.destroy();
    await until(() => tmpFiles().length === 0);
    assert.equal(existsSync(join(h.ctx.dirs.blobs, hex('z'.repeat(500)))), false);
  });

  it('answers 415 for application/octet-stream on a JSON route', async () => {
    const res = await fetch(`${url}/v1/snapshots`, { method: 'POST', headers: { authorization: `Bearer ${h.ctx.token}`, 'content-type': 'application/octet-stream' }, body: '{}' });
    assert.equal(res.status, 415);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /only PUT \/v1\/blobs\/:sha256 (and .+ )?takes? application\/octet-stream; send Content-Type: application\/json/);
  });

  it('lets the schema refuse unsafe paths before the service sees them', async () => {
    const body = { model: 'eta', files: [{ path: '../x', sha256: hex('x'), size: 1, mode: 420 }], entrypoints: { train: 'python x' } };
    await apiError(client.createSnapshot(body), 400, /no "\.\." or absolute paths/);
    const snap = await client.createSnapshot({ ...body, files: [{ ...body.files[0], path: 'x' }] });
    assert.deepEqual((await client.getSnapshot(snap.id)).missing, [hex('x')]);
    await apiError(client.buildSnapshot(snap.id), 409, /not uploaded yet/);
    await apiError(client.getSnapshot('snp_0000000000zzzzzzzzzzzz'), 404, /no snapshot/);
  });

  it('a file sent with setuid or setgid bits lands in the code layer without them', async () => {
    const files = [
      { path: 'train.py', body: 'print(1)\n', mode: 0o644 },
      { path: 'bin/su-like', body: '#!/bin/sh\nid\n', mode: 0o4755 },
      { path: 'bin/sg-like', body: '#!/bin/sh\nid -g\n', mode: 0o2711 },
    ];
    const snap = await client.createSnapshot({
      model: 'modes',
      version: 'm1',
      files: files.map((f) => ({ path: f.path, sha256: hex(f.body), size: Buffer.byteLength(f.body), mode: f.mode })),
      entrypoints: { train: 'python train.py' },
    });
    for (const f of files) await client.putBlob(hex(f.body), Buffer.from(f.body));
    const version = await client.buildSnapshot(snap.id);
    const manifest = await h.ctx.images.getManifest('modes', version.digest);
    assert.ok(manifest);
    const modes: Record<string, number> = {};
    for (const layer of (JSON.parse(manifest.bytes.toString('utf8')) as { layers: Array<{ digest: string; mediaType: string }> }).layers) {
      for await (const e of readLayer(h.ctx.images, layer)) {
        if (e.header.name.startsWith('app/')) modes[e.header.name] = e.header.mode ?? -1;
        e.resume();
      }
    }
    assert.deepEqual(modes, { 'app/bin': 0o755, 'app/bin/sg-like': 0o711, 'app/bin/su-like': 0o755, 'app/train.py': 0o644 });
  });

  it('refuses distributions whose names are not PEP 508 names or whose versions are not PEP 440 versions, with 400', async () => {
    const env = (distributions: Array<{ name: string; version: string }>) => ({
      model: 'eta',
      files: [{ path: 'train.py', sha256: hex('t'), size: 1, mode: 420 }],
      entrypoints: { train: 'python train.py' },
      environment: { python: '3.11.2', implementation: 'cpython', platform: 'linux', machine: 'x86_64', abi: 'cpython-311-x86_64-linux-gnu', strategy: 'install' as const, distributions },
    });
    let err = await apiError(client.createSnapshot(env([{ name: '--index-url=http://169.254.169.254/', version: '1.0' }])), 400, /distribution name "--index-url=http:\/\/169\.254\.169\.254\/" is not a PEP 508 name/);
    assert.equal(err.code, 'invalid_request');
    err = await apiError(client.createSnapshot(env([{ name: 'numpy', version: '1.26.4 --pre' }])), 400, /distribution numpy has version "1\.26\.4 --pre", which is not a PEP 440 version/);
    await apiError(client.createSnapshot(env([{ name: 'numpy', version: '1.0' }, { name: 'a b', version: '1' }, { name: 'x', version: '>=1' }])), 400, /"a b" is not a PEP 508 name .* \(and 1 more problems\)$/);
    // the shapes pip writes are taken
    const ok = await client.createSnapshot(
      env([
        { name: 'numpy', version: '1.26.4' },
        { name: 'zope.interface', version: '6.0.post1' },
        { name: 'typing_extensions', version: '4.12.0rc1' },
        { name: 'torch', version: '2.3.1+cpu' },
        { name: 'Foo-Bar', version: '1!2.0.dev3' },
        { name: 'x', version: 'v1.0-1' },
      ]),
    );
    assert.deepEqual((await client.getSnapshot(ok.id)).missing, [hex('t')]);
  });
});
