/**
 * Paged lists over HTTP on a real backend: pages follow each other without a
 * gap or a repeat, and a cursor the server did not give out (garbled, from
 * another list, or with its key changed) is a 400 that says what to send.
 * Models, versions, schedules and metric points page like runs, and the API
 * client's list methods (what the CLI and the UIs call) still read everything.
 */
import assert from 'node:assert/strict';
import { removeHome, startTestBackend, type TestBackend } from '../helpers/backend';
import { generateRuns, seedRuns } from '../../bench/seed-runs';
import { ensureModel, insertVersion } from '../../backend/src/models/store';
import { appendLogs } from '../../backend/src/runs/store';

describe('paged lists over HTTP', () => {
  let b: TestBackend;
  const get = async (path: string) => {
    const res = await fetch(`${b.url}${path}`, { headers: { Authorization: `Bearer ${b.token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

  /** every item of a list through its pages of `limit`, checking each page */
  async function walk(path: string, limit: number): Promise<Array<Record<string, any>>> {
    const items: Array<Record<string, any>> = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: Record<string, any> } = await get(`${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.ok(page.body.items.length <= limit);
      items.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    return items;
  }

  const MODELS = 1001; // one more than the client's page
  before(async () => {
    b = await startTestBackend();
    const db = b.server.ctx.db;
    await seedRuns(db, generateRuns(1234, 7));
    await db.insertInto('models').values(Array.from({ length: MODELS }, (_, i) => ({ name: `m${String(i).padStart(4, '0')}`, team: null, description: null, created_by: 'me', created_at: '2026-11-30T00:00:00.000Z' }))).execute();
    await ensureModel(db, 'eta', 'me');
    for (let i = 0; i < 250; i++) {
      const createdAt = new Date(Date.UTC(2026, 10, 1) + Math.floor(i / 2) * 1000).toISOString(); // pairs share a time: the label breaks the tie
      await insertVersion(db, {
        model: 'eta', label: `v${i}`, imageRef: `oci-layout:/x:eta:v${i}`, digest: `sha256:${'a'.repeat(64)}`, baseImage: null, baseDigest: null,
        entrypoints: { train: 'python train.py' }, git: { sha: null, dirty: false }, sizeBytes: 1, fileCount: 1, createdBy: 'me', createdAt,
      });
    }
    const request = JSON.stringify({ model: 'eta' });
    await db.insertInto('schedules').values(Array.from({ length: 230 }, (_, i) => ({
      id: `sch_${String(i).padStart(10, '0')}abcdefghijkl`, model: 'eta', cron: '0 3 * * *', timezone: 'UTC', request, enabled: 0, next_fire_at: null, last_fire_at: null, created_by: 'me', created_at: '2026-11-30T00:00:00.000Z',
    }))).execute();
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
    // not even base64url: the schema refuses it
    const garbled = await get(`/v1/runs?cursor=${encodeURIComponent('not!base64')}`);
    assert.equal(garbled.status, 400);
    assert.match(garbled.body.error.message, /querystring\.cursor: must be the nextCursor of the previous page, unchanged \(leave it out for the first page\)/);
  });

  it('pages models by name and versions newest first; the client reads them all', async () => {
    const models = await walk('/v1/models', 300);
    assert.equal(models.length, MODELS + 1);
    assert.deepEqual(models.map((m) => m.name), models.map((m) => m.name).sort());
    assert.equal((await get('/v1/models')).body.items.length, 100, 'the default page');
    assert.equal((await b.client.listModels()).items.length, MODELS + 1);

    const versions = await walk('/v1/models/eta/versions', 40);
    assert.equal(versions.length, 250);
    const order = versions.map((v) => `${v.createdAt} ${v.label}`);
    assert.deepEqual(order, [...order].sort().reverse());
    assert.deepEqual((await b.client.listVersions('eta')).items.map((v) => v.label), versions.map((v) => v.label));
  });

  it('pages schedules by id; the client reads them all', async () => {
    const schedules = await walk('/v1/schedules', 50);
    assert.equal(schedules.length, 230);
    assert.deepEqual(schedules.map((s) => s.id), schedules.map((s) => s.id).sort());
    assert.equal((await b.client.listSchedules()).items.length, 230);
  });

  it('pages metric points (at most 10000 a page) and caps log pages; the client merges the points', async () => {
    const id = (await get('/v1/runs?limit=1')).body.items[0].id as string;
    const N = 25_000;
    for (let i = 0; i < N; i += 5000) {
      const lines = Array.from({ length: 5000 }, (_, j) => ({ stream: 'stdout' as const, text: `step ${i + j}` }));
      const metrics = lines.map((_, j) => ({ line: j, name: (i + j) % 2 ? 'loss' : 'acc', step: i + j, value: (i + j) / N }));
      await appendLogs(b.server.ctx.db, id, lines, metrics);
    }
    const first = await get(`/v1/runs/${id}/metrics`);
    assert.equal(first.status, 200);
    assert.equal(first.body.series.reduce((n: number, s: { points: unknown[] }) => n + s.points.length, 0), 10_000);
    assert.ok(first.body.nextCursor);
    const all = await b.client.getMetrics(id);
    assert.deepEqual(all.series.map((s) => [s.name, s.points.length]), [['acc', N / 2], ['loss', N / 2]]);
    assert.deepEqual(all.series[1].points.map((p) => p.step), Array.from({ length: N / 2 }, (_, i) => 2 * i + 1));

    const tooMany = await get(`/v1/runs/${id}/metrics?limit=20000`);
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.error.message, /querystring\.limit must be <= 10000/);
    const logs = await get(`/v1/runs/${id}/logs?limit=20000`);
    assert.equal(logs.status, 400);
    assert.match(logs.body.error.message, /querystring\.limit must be <= 10000/);
    assert.equal((await get(`/v1/runs/${id}/logs`)).body.lines.length, 10_000, 'the default log page is the cap');
  });

  it('refuses bad cursors on every paged list, naming the list', async () => {
    const fix = (list: string) => new RegExp(`pass the nextCursor of the previous page of ${list.replace(/[/:]/g, (c) => `\\${c}`)} unchanged`);
    for (const [path, list] of [
      ['/v1/models', 'GET /v1/models'],
      ['/v1/models/eta/versions', 'GET /v1/models/:model/versions'],
      ['/v1/schedules', 'GET /v1/schedules'],
      [`/v1/runs/${(await get('/v1/runs?limit=1')).body.items[0].id}/metrics`, 'GET /v1/runs/:id/metrics'],
    ]) {
      const damaged = await get(`${path}?cursor=${b64([list, ''])}`);
      assert.equal(damaged.status, 400, `${path}: ${JSON.stringify(damaged.body)}`);
      assert.match(damaged.body.error.message, /damaged page key/);
      assert.match(damaged.body.error.message, fix(list));
      const runs = await get(`${path}?cursor=${(await get('/v1/runs?limit=1')).body.nextCursor}`);
      assert.equal(runs.status, 400);
      assert.match(runs.body.error.message, new RegExp(`page cursor of GET /v1/runs, not of ${list.replace(/[/:]/g, (c) => `\\${c}`)}`));
      const garbled = await get(`${path}?cursor=${encodeURIComponent('a b')}`);
      assert.equal(garbled.status, 400);
      assert.match(garbled.body.error.message, /querystring\.cursor/);
    }
  });
});
