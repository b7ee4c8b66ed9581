/**
 * The document's completions (backend/src/openapi.ts) and the answers it promises, quickly;
 * test/api/schemathesis.test.ts is the thorough check of the same document.
 */
import assert from 'node:assert/strict';
import { removeHome, startTestBackend, type TestBackend } from '../helpers/backend';

type Json = Record<string, any>;

describe('/openapi.json', () => {
  let b: TestBackend;
  let doc: Json;
  const get = (path: string, init: RequestInit = {}) => fetch(`${b.url}${path}`, { ...init, headers: { Authorization: `Bearer ${b.token}`, ...(init.headers as Record<string, string>) } });

  before(async () => {
    b = await startTestBackend();
    doc = (await (await get('/openapi.json')).json()) as Json;
  });
  after(async () => {
    await b.close();
    removeHome(b.home);
  });

  const operations = () => Object.entries(doc.paths as Json).flatMap(([path, ops]) => Object.entries(ops as Json).map(([method, op]) => ({ path, method, op: op as Json })));

  it('documents 401 and 503 on every operation, 400 where there is input, 415 where there is a body', () => {
    assert.ok(operations().length > 20);
    for (const { path, method, op } of operations()) {
      const codes = Object.keys(op.responses);
      const where = `${method.toUpperCase()} ${path}: ${codes.join(',')}`;
      assert.ok(codes.includes('401') && codes.includes('503'), where);
      if (op.parameters?.length || op.requestBody) assert.ok(codes.includes('400'), where);
      if (op.requestBody) assert.ok(codes.includes('415'), where);
    }
  });

  it('says a blob is raw bytes, and hardware comes with its availability', async () => {
    assert.deepEqual(Object.keys(doc.paths['/v1/blobs/{sha256}'].put.requestBody.content), ['application/octet-stream']);
    const item = doc.paths['/v1/hardware'].get.responses['200'].content['application/json'].schema.properties.items.items;
    assert.ok(item.properties.availability, JSON.stringify(item));
    const answer = (await (await get('/v1/hardware')).json()) as Json;
    for (const h of answer.items) for (const k of Object.keys(h)) assert.ok(k in item.properties, `${k} is in the schema`);
  });

  it('links a build to its snapshot, a built snapshot to the version, an estimate and a launch, and a launch to its run', () => {
    assert.equal(doc.paths['/v1/snapshots/{id}/build'].post.responses['202'].links.FollowBuild.parameters.id, '$response.body#/id');
    // a build that ended within ?wait answers 200: it leads to the version
    assert.deepEqual(doc.paths['/v1/snapshots/{id}/build'].post.responses['200'].links.GetBuiltVersion.parameters, { model: '$response.body#/model', version: '$response.body#/version' });
    assert.equal(doc.paths['/v1/snapshots/{id}/build'].post.parameters.find((p: Json) => p.name === 'wait')?.in, 'query');
    const built = doc.paths['/v1/snapshots/{id}'].get.responses['200'].links;
    assert.equal(built.Estimate.operationRef, '#/paths/~1v1~1runs~1estimate/post');
    assert.deepEqual(built.Estimate.requestBody, { model: '$response.body#/model', version: '$response.body#/version', entrypoint: 'train' });
    assert.ok(built.GetVersion && built.Launch);
    assert.equal(doc.paths['/v1/runs'].post.responses['201'].links['Run-get'].parameters.id, '$response.body#/runs/0/id');
    assert.equal(doc.paths['/v1/runs'].get.responses['200'].links.NextPage.parameters.cursor, '$response.body#/nextCursor');
  });

  it('answers 405 with Allow for a method a known path does not take', async () => {
    const patch = await get('/v1/models', { method: 'PATCH' });
    assert.equal(patch.status, 405);
    assert.equal(patch.headers.get('allow'), 'GET, HEAD, POST');
    // not taken as GET /v1/runs/:id with id "estimate"
    const estimate = await get('/v1/runs/estimate');
    assert.equal(estimate.status, 405);
    assert.equal(estimate.headers.get('allow'), 'POST');
    assert.equal((await get('/v1/nothing-here')).status, 404);
  });

  it('hands a long path parameter to the route (404 for a missing file, not 414)', async () => {
    const res = await get(`/v1/models/nomodel/versions/v1/files/${'d/'.repeat(150)}train.py`);
    assert.equal(res.status, 404);
  });

  it('refuses a schedule without its rule, saying so', async () => {
    const res = await get('/v1/schedules', { method: 'POST', body: JSON.stringify({ model: 'counter' }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as Json).error.message, /missing required field "schedule"/);
  });
});
