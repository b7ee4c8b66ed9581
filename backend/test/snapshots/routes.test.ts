/**
 * The snapshot routes over real HTTP (the real buildServer: auth, schemas, error
 * mapping, the octet-stream parser) with the real API client and saveWorkspace.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError, TrainyardClient } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { buildServer } from '../../src/server';
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

describe('snapshot routes over HTTP', () => {
  let h: Harness;
  let app: Awaited<ReturnType<typeof buildServer>>;
  let client: TrainyardClient;
  let url: string;
  before(async () => {
    h = await harness('sqlite', 1024);
    app = await buildServer(h.ctx, { snapshots: h.svc, runs: null as never, schedules: null as never });
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
    const first = await saveWorkspace(client, { dir: ws, model: 'eta', version: 'v1' });
    assert.deepEqual([first.uploadedFiles, first.totalFiles, first.version.label], [2, 2, 'v1']);
    assert.deepEqual((await client.getVersion('eta', 'v1')).digest, first.version.digest);
    const second = await saveWorkspace(client, { dir: ws, model: 'eta', version: 'v1' });
    assert.equal(second.uploadedFiles, 0);
    writeFileSync(join(ws, 'train.py'), 'print(2)\n');
    await apiError(saveWorkspace(client, { dir: ws, model: 'eta', version: 'v1' }), 409, /already has a version "v1" with different content/);
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

  it('lets the schema refuse unsafe paths before the service sees them', async () => {
    const body = { model: 'eta', files: [{ path: '../x', sha256: hex('x'), size: 1, mode: 420 }], entrypoints: { train: 'python x' } };
    await apiError(client.createSnapshot(body), 400, /no "\.\." or absolute paths/);
    const snap = await client.createSnapshot({ ...body, files: [{ ...body.files[0], path: 'x' }] });
    assert.deepEqual((await client.getSnapshot(snap.id)).missing, [hex('x')]);
    await apiError(client.buildSnapshot(snap.id), 409, /not uploaded yet/);
    await apiError(client.getSnapshot('snp_0000000000zzzzzzzzzzzz'), 404, /no snapshot/);
  });
});
