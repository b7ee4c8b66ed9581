/**
 * fetch over node:http (shared/src/http-fetch.ts: the CLI's and the Jupyter save client's) under the API client, against a real
 * HTTP server: JSON answers and errors, raw bytes, a streamed body read to its end or
 * aborted, a timeout (reported as such, not as "cannot reach"), and a refused connection.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, TrainyardClient } from '@trainyard/shared/client';
import { httpFetch } from '@trainyard/shared/http-fetch';

describe('http-fetch under the API client', () => {
  let server: Server;
  let url: string;
  const seen: Array<{ method: string; url: string; auth?: string; type?: string; body: string }> = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, type: req.headers['content-type'], body });
        const json = (status: number, value: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
        if (req.url === '/v1/models?limit=2') return json(200, { items: [{ name: 'a' }], nextCursor: null });
        if (req.url === '/v1/models' && req.method === 'POST') return json(201, JSON.parse(body));
        if (req.url === '/v1/models/missing') return json(404, { error: { code: 'not_found', message: 'no model "missing"' } });
        if (req.url?.startsWith('/v1/models/m/versions/v/files/')) return res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(Buffer.from([0, 1, 2, 255]));
        if (req.url === '/v1/events') {
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          res.write(`event: run\ndata: ${JSON.stringify({ id: 'r1' })}\n\n`);
          return; // stays open until the client leaves
        }
        if (req.url === '/v1/hardware') return; // never answers
        json(500, { error: { code: 'internal', message: 'unexpected' } });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const client = (timeoutMs?: number) => new TrainyardClient({ baseUrl: url, token: 't0k', fetch: httpFetch, timeoutMs });

  it('sends the token, the query and a JSON body, and reads JSON answers', async () => {
    // undefined query values are left out
    assert.deepEqual(await client().listModelsPage({ limit: 2, cursor: undefined }), { items: [{ name: 'a' }], nextCursor: null });
    assert.deepEqual(await client().createModel({ name: 'eta' } as never), { name: 'eta' });
    const post = seen.find((s) => s.method === 'POST')!;
    assert.equal(post.auth, 'Bearer t0k');
    assert.equal(post.type, 'application/json');
    assert.equal(post.body, '{"name":"eta"}');
  });

  it("turns the server's error body into an ApiError", async () => {
    const err = await client().getModel('missing').catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'not_found');
    assert.equal(err.message, 'no model "missing"');
  });

  it('reads raw bytes', async () => {
    assert.deepEqual([...(await client().readVersionFile('m', 'v', 'src/a.bin'))], [0, 1, 2, 255]);
  });

  it('hands the body out to one reader at a time, or as an async iterable (what streams.ts and verified-write.ts read)', async () => {
    const res = await httpFetch(`${url}/v1/models/m/versions/v/files/src/a.bin`, { headers: { authorization: 'Bearer t' } });
    const reader = res.body!.getReader();
    assert.throws(() => res.body!.getReader(), /locked/);
    const first = await reader.read();
    assert.deepEqual([...first.value!], [0, 1, 2, 255]);
    assert.equal((await reader.read()).done, true);
    reader.releaseLock();
    const again = await httpFetch(`${url}/v1/models/m/versions/v/files/src/a.bin`, { headers: { authorization: 'Bearer t' } });
    const got: number[] = [];
    for await (const c of again.body as unknown as AsyncIterable<Uint8Array>) got.push(...c);
    assert.deepEqual(got, [0, 1, 2, 255]);
  });

  it('streams server-sent events and, aborted, ends the stream with an AbortError (as fetch does)', async () => {
    const abort = new AbortController();
    const got: string[] = [];
    const ended = await (async () => {
      for await (const e of client().events({ signal: abort.signal })) {
        got.push((e.data as { id: string }).id);
        abort.abort();
      }
    })().catch((e: Error) => e);
    assert.deepEqual(got, ['r1']);
    assert.equal((ended as Error)?.name, 'AbortError');
  });

  it('says the backend did not answer in time, not that it cannot be reached', async () => {
    const err = await client(300).listHardware().catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 0);
    assert.match(err.message, /did not answer GET \/v1\/hardware within 0\.3 s/);
    assert.doesNotMatch(err.message, /cannot reach/);
  });

  it('says it cannot reach a backend that is not there', async () => {
    const err = await new TrainyardClient({ baseUrl: 'http://127.0.0.1:1', fetch: httpFetch }).listModels().catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.match(err.message, /cannot reach the Trainyard backend at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  });
});
