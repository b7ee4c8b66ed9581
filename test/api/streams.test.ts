/**
 * Stream bounds on a real backend: open event streams per token are capped
 * (one more is a 429 that says so), a client that stops reading the event
 * stream is disconnected with the reason once server.streamBufferBytes are
 * queued, and a log follow reads the store only as fast as its client takes
 * lines, still delivering every line once. The server's own response objects
 * are watched through node:diagnostics_channel to see what it queues.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TrainyardEvent } from '@trainyard/shared';
import { appendLogs } from '../../backend/src/runs/store';
import { generateRuns, seedRuns } from '../../bench/seed-runs';
import { removeHome, startTestBackend, type TestBackend } from '../helpers/backend';

const LIMIT = 64 * 1024;

/** the server-side response of the next request whose path starts with `path` */
function nextServerResponse(path: string): Promise<ServerResponse> {
  return new Promise((resolve) => {
    const onStart = (msg: unknown) => {
      const { request: req, response } = msg as { request: { url?: string }; response: ServerResponse };
      if (!req.url?.startsWith(path)) return;
      diagnostics.unsubscribe('http.server.request.start', onStart);
      resolve(response);
    };
    diagnostics.subscribe('http.server.request.start', onStart);
  });
}

function open(b: TestBackend, path: string, token = b.token): Promise<IncomingMessage> {
  const url = new URL(path, b.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` } }, resolve);
    req.on('error', reject);
    req.end();
  });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (body += c));
    res.on('end', () => resolve(body));
    res.on('error', reject);
  });
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(ok: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await tick(20);
  }
}

describe('stream bounds', () => {
  let b: TestBackend;
  before(async () => {
    b = await startTestBackend({ server: { maxEventStreamsPerToken: 2, streamBufferBytes: LIMIT } });
  });
  after(async () => {
    await b.close();
    removeHome(b.home);
  });

  it('caps open event streams per token with a 429 that says what to do; other tokens have their own', async () => {
    const first = await open(b, '/v1/events');
    const second = await open(b, '/v1/events');
    assert.deepEqual([first.statusCode, second.statusCode], [200, 200]);
    const third = await open(b, '/v1/events');
    assert.equal(third.statusCode, 429);
    const body = JSON.parse(await readAll(third)) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'too_many_requests');
    assert.match(body.error.message, /already has 2 open event streams, the limit \(server\.maxEventStreamsPerToken\); close one/);

    const alice = await b.client.createToken({ user: 'alice' });
    const hers = await open(b, '/v1/events', alice.token);
    assert.equal(hers.statusCode, 200);
    hers.destroy();

    first.destroy(); // a closed stream frees its place
    await until(() => true, 'nothing');
    let again: IncomingMessage | undefined;
    for (let i = 0; i < 50 && again?.statusCode !== 200; i++) {
      again?.destroy();
      await tick(20);
      again = await open(b, '/v1/events');
    }
    assert.equal(again!.statusCode, 200);
    again!.destroy();
    second.destroy();
  });

  it('disconnects an event client that stops reading, with the reason, instead of queueing without bound', async () => {
    await tick(100); // the first test's streams are closed
    const server = nextServerResponse('/v1/events');
    const res = await open(b, '/v1/events');
    assert.equal(res.statusCode, 200);
    res.pause(); // a client that does not read
    const raw = await server;
    const data = { id: 'run_0000000000abcdefghijkl', note: 'x'.repeat(1000) };
    let sent = 0;
    let maxQueued = 0;
    for (let batch = 0; batch < 400 && !raw.writableEnded; batch++) {
      for (let i = 0; i < 100; i++, sent++) b.server.ctx.bus.publish({ kind: 'run', data } as unknown as TrainyardEvent);
      maxQueued = Math.max(maxQueued, raw.writableLength);
      await tick(1);
    }
    assert.ok(raw.writableEnded, `still open after ${sent} events`);
    assert.ok(maxQueued <= LIMIT + 4096, `queued ${maxQueued} bytes`);
    res.resume();
    const body = await readAll(res);
    const got = body.split('\n\n').filter((m) => m.startsWith('event: run')).length;
    assert.ok(got > 0 && got < sent, `got ${got} of ${sent}`);
    assert.match(body, /: closed: this client fell more than 65536 bytes behind \(server\.streamBufferBytes\); reconnect and reload\n\n$/);
  });

  it('follows a log only as fast as the client reads, and still delivers every line once', async () => {
    const { runs, sweeps } = generateRuns(1, 3);
    runs[0].status = 'Succeeded';
    await seedRuns(b.server.ctx.db, { runs, sweeps });
    const id = runs[0].id;
    const N = 60_000;
    for (let i = 0; i < N; i += 5000) {
      const lines = Array.from({ length: 5000 }, (_, j) => ({ stream: 'stdout' as const, text: `line ${i + j} ${'y'.repeat(100)}` }));
      await appendLogs(b.server.ctx.db, id, lines, []);
    }
    const server = nextServerResponse(`/v1/runs/${id}/logs`);
    const res = await open(b, `/v1/runs/${id}/logs?follow=1`);
    res.pause();
    const raw = await server;
    let maxQueued = 0;
    const watch = setInterval(() => (maxQueued = Math.max(maxQueued, raw.writableLength)), 5);
    await tick(1500); // the client reads nothing meanwhile
    clearInterval(watch);
    assert.ok(!raw.writableEnded, 'the follow ended while its client read nothing');
    // one page (1000 lines of ~150 bytes) at most waits in the server; the rest stays in the store
    assert.ok(maxQueued < 400_000, `queued ${maxQueued} bytes`);
    res.resume();
    const lines = (await readAll(res)).trim().split('\n').map((l) => JSON.parse(l) as { seq: number; text: string });
    assert.equal(lines.length, N);
    assert.deepEqual(lines.map((l) => l.seq), Array.from({ length: N }, (_, i) => i));
    assert.match(lines[N - 1].text, new RegExp(`^line ${N - 1} `));
  });
});
