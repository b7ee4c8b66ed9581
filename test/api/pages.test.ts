/**
 * Paged lists over HTTP on a real backend: pages follow each other without a
 * gap or a repeat, and a cursor the server did not give out (garbled, from
 * another list, or with its key changed) is a 400 that says what to send.
 */
import assert from 'node:assert/strict';
import { removeHome, startTestBackend, type TestBackend } from '../helpers/backend';
import { generateRuns, seedRuns } from '../../bench/seed-runs';

describe('paged lists over HTTP', () => {
  let b: TestBackend;
  const get = async (path: string) => {
    const res = await fetch(`${b.url}${path}`, { headers: { Authorization: `Bearer ${b.token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

  before(async () => {
    b = await startTestBackend();
    await seedRuns(b.server.ctx.db, generateRuns(1234, 7));
  });
  after(async () => {
    await b.close();
    removeHome(b.home);
  });

  it('walks every run once, newest first, in pages of the asked size', async () => {
    const seen: Array<{ id: string; createdAt: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: Record<string, any> } = await get(`/v1/runs?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.ok(page.body.items.length <= 100);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 13);
    assert.equal(new Set(seen.map((r) => r.id)).size, 1234);
    const order = seen.map((r) => `${r.createdAt} ${r.id}`);
    assert.deepEqual(order, [...order].sort().reverse());
  });

  it('refuses a cursor it did not give out, saying what to send', async () => {
    const first = await get('/v1/runs?limit=5');
    const [, createdAt, id] = JSON.parse(Buffer.from(first.body.nextCursor, 'base64url').toString()) as string[];
    const fix = /pass the nextCursor of the previous page of GET \/v1\/runs unchanged, or leave cursor out for the first page/;
    for (const [what, cursor, message] of [
      ['garbled', 'not!base64', /cursor is not a page cursor/],
      ['base64 of something else', Buffer.from('hello|there').toString('base64url'), /cursor is not a page cursor/],
      ['a cursor of another list', b64(['GET /v1/models', 'eta']), /cursor is a page cursor of GET \/v1\/models, not of GET \/v1\/runs/],
      ['a changed key', b64(['GET /v1/runs', createdAt, `${id}'; drop table runs`]), /cursor holds a damaged page key/],
      ['a key without its id', b64(['GET /v1/runs', createdAt]), /cursor holds a damaged page key/],
      ['a bad time', b64(['GET /v1/runs', 'yesterday', id]), /cursor holds a damaged page key/],
    ] as const) {
      const res = await get(`/v1/runs?cursor=${encodeURIComponent(cursor)}`);
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'invalid_request');
      assert.match(res.body.error.message, message, what);
      assert.match(res.body.error.message, fix, what);
    }
  });
});
