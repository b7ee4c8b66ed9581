/** Bad input at the HTTP boundary: a clear 4xx that says what to fix, and the store unchanged. */
import assert from 'node:assert/strict';
import { ApiError } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { COUNTER, removeHome, startTestBackend, type TestBackend } from '../helpers/backend';

describe('API input validation', () => {
  let b: TestBackend;
  const raw = (path: string, init: RequestInit = {}) =>
    fetch(`${b.url}${path}`, { ...init, headers: { Authorization: `Bearer ${b.token}`, ...(init.headers as Record<string, string>) } });
  const post = (path: string, body: unknown) => raw(path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  async function expectError(res: Response, status: number, code: string, message: RegExp) {
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(body.error.code, code);
    assert.match(body.error.message, message);
  }

  before(async () => {
    b = await startTestBackend({ server: { bodyLimitBytes: 64 * 1024 } });
    await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1' });
  });
  after(async () => {
    await b.close();
    removeHome(b.home);
  });

  it('needs a bearer token everywhere but /healthz', async () => {
    assert.equal((await fetch(`${b.url}/healthz`)).status, 200);
    await expectError(await fetch(`${b.url}/v1/models`), 401, 'unauthorized', /missing bearer token/);
    await expectError(await fetch(`${b.url}/v1/runs`, { headers: { Authorization: 'Bearer nope' } }), 401, 'unauthorized', /invalid bearer token/);
    await expectError(await fetch(`${b.url}/openapi.json`), 401, 'unauthorized', /bearer/);
  });

  it('serves an OpenAPI document generated from the shared schemas', async () => {
    const doc = (await (await raw('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/v1/models', '/v1/runs', '/v1/runs/estimate', '/v1/runs/{id}/logs', '/v1/hardware', '/v1/schedules', '/v1/snapshots']) assert.ok(doc.paths[p], `missing ${p}`);
  });

  it('refuses invalid names, unknown fields, wrong content types, bad JSON and oversized bodies', async () => {
    await expectError(await post('/v1/models', { name: 'Bad Name!' }), 400, 'invalid_request', /body\.name: must be lower-case letters/);
    await expectError(await post('/v1/models', { name: 'ok-name', colour: 'red' }), 400, 'invalid_request', /unknown field "colour"/);
    await expectError(await raw('/v1/models', { method: 'POST', body: 'name=x', headers: { 'Content-Type': 'text/plain' } }), 415, 'unsupported_media_type', /application\/json/);
    await expectError(await raw('/v1/models', { method: 'POST', body: '{"name":', headers: { 'Content-Type': 'application/json' } }), 400, 'invalid_request', /JSON/i);
    await expectError(await post('/v1/models', { name: 'big', description: 'x'.repeat(100 * 1024) }), 413, 'payload_too_large', /limit/);
    await expectError(await raw('/v1/runs/run_nope'), 400, 'invalid_request', /params\.id/);
    await expectError(await raw('/v1/nowhere'), 404, 'not_found', /no route/);
  });

  it('inspects a base image over HTTP, refusing a bad body or a source the server may not read', async () => {
    const { ensureBaseImage } = await import('../components/base-image');
    const base = `oci-layout:${await ensureBaseImage()}:latest`;
    const res = await post('/v1/base-images/inspect', { baseImage: base });
    assert.equal(res.status, 200);
    const info = (await res.json()) as { ref: string; python: { version: string } | null };
    assert.equal(info.ref, base);
    assert.equal(info.python?.version, '3.11');
    assert.equal((await b.client.inspectBaseImage(base)).python?.version, '3.11', 'the typed client');
    await expectError(await post('/v1/base-images/inspect', {}), 400, 'invalid_request', /body.*baseImage/);
    await expectError(await post('/v1/base-images/inspect', { baseImage: base, extra: 1 }), 400, 'invalid_request', /unknown field "extra"/);
    await expectError(await post('/v1/base-images/inspect', { baseImage: 'elsewhere.example/team/python:3.11' }), 400, 'invalid_request', /registry elsewhere\.example is not allowed on this server/);
    await expectError(await post('/v1/base-images/inspect', { baseImage: '/nonexistent-layout' }), 400, 'invalid_request', /not an OCI image layout/);
  });

  const launchCases: Array<[string, Record<string, unknown>, number, RegExp]> = [
    ['unknown model', { model: 'nope' }, 404, /no model "nope"/],
    ['unknown version', { model: 'counter', version: 'v9' }, 404, /no version "v9"/],
    ['invalid version label', { model: 'counter', version: '../x' }, 400, /body\.version/],
    ['unknown entrypoint', { model: 'counter', entrypoint: 'serve' }, 400, /no entrypoint "serve".*train/],
    ['unknown hardware profile', { model: 'counter', hardware: 'tpu-pod' }, 400, /unknown hardware profile "tpu-pod"; choose one of: cpu-small/],
    ['hardware that cannot fit', { model: 'counter', hardware: 'gpu-t4' }, 400, /cannot run on the local executor: .*GPU/i],
    ['a nested param value', { model: 'counter', params: { a: { b: 1 } } }, 400, /body\.params/],
    ['a bad param key', { model: 'counter', params: { 'no spaces': 1 } }, 400, /body\.params/],
    ['an empty sweep axis', { model: 'counter', sweep: { region: [] } }, 400, /body\.sweep/],
    ['a sweep with no axes', { model: 'counter', sweep: {} }, 400, /body\.sweep/],
    ['a grid over 10,000 points', { model: 'counter', sweep: { a: Array.from({ length: 200 }, (_, i) => i), b: Array.from({ length: 60 }, (_, i) => i) } }, 400, /12000 points, over the limit of 10000/],
    ['a key both fixed and swept', { model: 'counter', params: { a: 1 }, sweep: { a: [1, 2] } }, 400, /both fixed/],
    ['parallelism without a sweep', { model: 'counter', parallelism: 2 }, 400, /parallelism applies to sweeps only/],
    ['an invalid cron', { model: 'counter', schedule: '61 * * * *' }, 400, /invalid schedule "61 \* \* \* \*".*minute: 61/],
    ['a cron with too few fields', { model: 'counter', schedule: '* * * *  ' }, 400, /body\.schedule: must be cron expression, 5 or 6 space-separated fields/],
    ['a cron out of range', { model: 'counter', schedule: '61 3 * * *' }, 400, /invalid schedule/],
    ['an unknown timezone', { model: 'counter', schedule: '0 3 * * *', timezone: 'Mars/Olympus' }, 400, /timezone/],
    ['a negative max duration', { model: 'counter', maxDurationMinutes: -5 }, 400, /body\.maxDurationMinutes/],
    ['an absurd max duration', { model: 'counter', maxDurationMinutes: 1_000_000 }, 400, /10080/],
    ['an unknown field', { model: 'counter', gpus: 8 }, 400, /unknown field "gpus"/],
  ];
  for (const [what, body, status, message] of launchCases) {
    it(`refuses a launch with ${what}, creating nothing`, async () => {
      const res = await post('/v1/runs', body);
      const err = (await res.json()) as { error: { message: string } };
      assert.equal(res.status, status, err.error.message);
      assert.match(err.error.message, message);
      assert.equal((await b.client.listRuns()).items.length, 0);
      assert.equal((await b.client.listSchedules()).items.length, 0);
    });
  }

  it('gives the typed client an ApiError with the server message', async () => {
    await assert.rejects(b.client.getRun('run_0000000000000000000000'), (e: ApiError) => e instanceof ApiError && e.status === 404 && /no run/.test(e.message));
  });
});
