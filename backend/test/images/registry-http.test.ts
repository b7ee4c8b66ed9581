/** registry/http.ts: openStream (a blob read as the socket's stream) and request (an answer read whole), with auth, redirects and retries. */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_ANSWER, RegistryError, RegistryHttp } from '../../src/images/registry/http';
import { parseRegistryUrl } from '../../src/images/registry/reference';

async function serve(handle: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const read = async (s: AsyncIterable<Buffer>) => {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c);
  return Buffer.concat(out).toString();
};

describe('registry http: openStream', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('answers with basic credentials after the challenge, follows a redirect to storage without them, and retries a 500', async () => {
    const seen: string[] = [];
    const storage = await serve((req, res) => {
      seen.push(`storage ${req.url} auth=${req.headers.authorization ?? 'none'}`);
      res.end('the blob bytes');
    });
    let fails = 1;
    const registry = await serve((req, res) => {
      seen.push(`registry ${req.url} auth=${req.headers.authorization ? 'yes' : 'none'}`);
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
        return;
      }
      if (fails-- > 0) {
        res.writeHead(500).end('{"errors":[{"code":"UNKNOWN","message":"try again"}]}');
        return;
      }
      res.writeHead(307, { location: `${storage.url}/bucket/blob?sig=1` }).end();
    });
    servers.push(storage.server, registry.server);
    const http = new RegistryHttp({ ...parseRegistryUrl(registry.url), username: 'u', password: 'p' }, { backoffMs: 1 });
    assert.equal(await read(await http.openStream('/v2/team/eta/blobs/sha256:ab', { scopes: ['repository:team/eta:pull'] })), 'the blob bytes');
    assert.deepEqual(seen, [
      'registry /v2/team/eta/blobs/sha256:ab auth=none',
      'registry /v2/team/eta/blobs/sha256:ab auth=yes',
      'registry /v2/team/eta/blobs/sha256:ab auth=yes',
      'storage /bucket/blob?sig=1 auth=none',
    ]);
  });

  it('says what the registry answered when the blob is not there', async () => {
    const registry = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
    });
    servers.push(registry.server);
    const http = new RegistryHttp(parseRegistryUrl(registry.url), { backoffMs: 1 });
    await assert.rejects(http.openStream('/v2/team/eta/blobs/sha256:cd', { scopes: [] }), /GET \/v2\/team\/eta\/blobs\/sha256:cd answered 404 BLOB_UNKNOWN/);
  });
});

describe('registry http: request', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('a GET follows redirects (credentials to the registry only), a POST is not redirected, and a redirect loop or an answer over the limit is an error', async () => {
    const seen: string[] = [];
    const storage = await serve((req, res) => {
      seen.push(`storage ${req.method} ${req.url} auth=${req.headers.authorization ?? 'none'}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"schemaVersion":2}');
    });
    const registry = await serve((req, res) => {
      seen.push(`registry ${req.method} ${req.url} auth=${req.headers.authorization ? 'yes' : 'none'}`);
      if (!req.headers.authorization) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      if (req.url === '/v2/big') return void res.end(Buffer.alloc(MAX_ANSWER + 1));
      if (req.url === '/v2/hop') return void res.writeHead(302, { location: '/v2/hop2' }).end();
      if (req.url === '/v2/loop') return void res.writeHead(302, { location: '/v2/loop' }).end();
      res.writeHead(307, { location: `${storage.url}/manifest?sig=1` }).end();
    });
    servers.push(storage.server, registry.server);
    const http = new RegistryHttp({ ...parseRegistryUrl(registry.url), username: 'u', password: 'p' }, { backoffMs: 1 });
    const scopes = ['repository:team/eta:pull'];
    const res = await http.request('/v2/hop', { scopes });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { schemaVersion: 2 });
    assert.equal(res.headers.get('Content-Type'), 'application/json');
    assert.deepEqual(seen, [
      'registry GET /v2/hop auth=none',
      'registry GET /v2/hop auth=yes',
      'registry GET /v2/hop2 auth=yes',
      'storage GET /manifest?sig=1 auth=none',
    ]);
    seen.length = 0;
    // an upload's answer is the registry's own: a redirect is an error, not followed
    await assert.rejects(http.request('/v2/team/eta/blobs/uploads/', { method: 'POST', scopes, headers: { 'content-length': '0' } }), /POST \/v2\/team\/eta\/blobs\/uploads\/ answered 307/);
    assert.deepEqual(seen, ['registry POST /v2/team/eta/blobs/uploads/ auth=yes']);
    await assert.rejects(http.request('/v2/big', { scopes }), /GET \/v2\/big answered 200 with more than 16 MiB/);
    await assert.rejects(http.request('/v2/loop', { scopes }), /GET \/v2\/loop: more than 5 redirects from 127\.0\.0\.1/);
  });

  it('a token service that answers something other than JSON is named in the error', async () => {
    const tokens = await serve((_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'));
    const registry = await serve((req, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url}/token",service="reg"` }).end();
    });
    servers.push(tokens.server, registry.server);
    const http = new RegistryHttp(parseRegistryUrl(registry.url), { backoffMs: 1 });
    await assert.rejects(http.request('/v2/', { scopes: ['repository:team/eta:pull'] }), /the token service of 127\.0\.0\.1:\d+ answered something other than JSON: <html>login<\/html>/);
  });

  it('a registry host that cannot be found is retried, then named in an UNREACHABLE error', async () => {
    const http = new RegistryHttp(parseRegistryUrl('http://registry.invalid:5000'), { retries: 1, backoffMs: 1 });
    const err = await http.request('/v2/', { scopes: [] }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof RegistryError, String(err));
    assert.equal(err.code, 'UNREACHABLE');
    assert.match(err.message, /GET http:\/\/registry\.invalid:5000\/v2\/: .*(ENOTFOUND|EAI_AGAIN).* after 2 attempts/);
    assert.equal(http.stats.retries, 1);
  });
});
