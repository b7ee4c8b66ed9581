/** The small pure parts: URL and token checks, params, finished-launch tracking, the panel page's CSP, backoff and batching. */
import assert from 'node:assert/strict';
import type { Run } from '@trainyard/shared/schemas/runs';
import type { LaunchResult } from '@trainyard/shared/schemas/launch-result';
import { checkUrl, isLocalUrl } from '../src/connection/url';
import { checkToken, localToken } from '../src/connection/token';
import { parseParams } from '../src/launch/params';
import { FinishTracker } from '../src/runs/finish-tracker';
import { panelHtml } from '../src/webviews/html';
import { Backoff, Batcher } from '../src/connection/backoff';
import { checkModelName, MODEL_NAME } from '../src/save/model-name';
import { DEFAULT_URL } from '../src/connection/url';
import { DEFAULT_URL as CLIENT_DEFAULT_URL } from '@trainyard/shared/client';
import { ModelName } from '@trainyard/shared/schemas/common';

const r = (id: string, status: Run['status'], over: Partial<Run> = {}) => ({ id, status, actualCost: status === 'Pending' ? null : 0.01, reason: null, model: 'eta', version: 'v1', ...over }) as Run;

describe('VS Code extension: pure helpers', () => {
  it('checks trainyard.url and tells local from remote', () => {
    assert.deepEqual(checkUrl('http://127.0.0.1:7878/'), { url: 'http://127.0.0.1:7878' });
    assert.equal(checkUrl('ftp://x').problem, 'trainyard.url must start with http:// or https:// (got ftp:)');
    assert.match(checkUrl('not a url').problem!, /not a URL/);
    assert.equal(checkUrl(undefined).url, 'http://127.0.0.1:7878');
    assert.equal(isLocalUrl('http://localhost:1'), true);
    assert.equal(isLocalUrl('https://trainyard.example.com'), false);
  });
  it('checks a typed token and reads the local one from the environment', async () => {
    assert.match(checkToken('  ')!, /Enter the token/);
    assert.match(checkToken('has space inside')!, /printable/);
    assert.equal(checkToken('ty_abcdefgh1234'), null);
    assert.deepEqual(await localToken({ TRAINYARD_TOKEN: ' ty_x12345678 ' }), { token: 'ty_x12345678', source: 'TRAINYARD_TOKEN' });
    assert.equal(await localToken({ TRAINYARD_HOME: '/nonexistent-ty-home' }), null);
  });
  it('keeps its copies of the default URL and the model-name pattern equal to shared\'s (copied so activate() loads neither)', () => {
    assert.equal(DEFAULT_URL, CLIENT_DEFAULT_URL);
    assert.equal(MODEL_NAME.source, (ModelName as unknown as { pattern: string }).pattern);
  });
  it('checks model names with the shared pattern', () => {
    assert.equal(checkModelName('eta-correction'), null);
    for (const bad of ['Eta', 'e', 'eta-', '1eta', 'eta_correction']) assert.ok(checkModelName(bad), bad);
  });
  it('parses quick-launch params with types and clear errors', () => {
    assert.deepEqual(parseParams('lr=0.05 epochs=20 region=sfo fast=true'), { params: { lr: 0.05, epochs: 20, region: 'sfo', fast: true } });
    assert.deepEqual(parseParams(''), { params: {} });
    assert.match((parseParams('lr') as { error: string }).error, /not key=value/);
    assert.match((parseParams('9x=1') as { error: string }).error, /param name/);
    assert.match((parseParams('a=1 a=2') as { error: string }).error, /twice/);
  });
  it('reports a single run when final and a sweep when all its runs are', () => {
    const t = new FinishTracker();
    t.track({ runs: [r('a', 'Pending')], sweep: null } as unknown as LaunchResult);
    t.track({ runs: [r('b', 'Pending'), r('c', 'Pending')], sweep: { id: 'swp_1' } } as unknown as LaunchResult);
    assert.deepEqual(t.update([r('b', 'Succeeded'), r('x', 'Failed')]), []);
    const [single] = t.update([r('a', 'Failed', { reason: 'exit 1' })]);
    assert.deepEqual([single.kind, single.id, single.status, single.reason], ['run', 'a', 'Failed', 'exit 1']);
    const [sweep] = t.update([r('c', 'Succeeded')]);
    assert.deepEqual([sweep.kind, sweep.id, sweep.status, sweep.cost], ['sweep', 'swp_1', '2 Succeeded', 0.02]);
    assert.equal(t.size, 0);
    assert.deepEqual(t.update([r('c', 'Succeeded')]), [], 'reported twice');
  });
  it('writes a panel page whose only script carries the nonce, under a strict CSP', () => {
    const html = panelHtml({ cspSource: 'https://x.vscode-cdn.net', scriptUri: 'https://x/w.js', styleUri: 'https://x/w.css', nonce: 'abc123', title: 'Run <1>' });
    assert.match(html, /default-src 'none'/);
    assert.match(html, /script-src 'nonce-abc123'/);
    assert.equal([...html.matchAll(/<script/g)].length, 1);
    assert.match(html, /<script nonce="abc123" src="https:\/\/x\/w.js">/);
    assert.match(html, /<title>Run &lt;1&gt;<\/title>/);
  });
  it('backs off up to a cap and batches bursts into one flush', async () => {
    const b = new Backoff(500, 4000);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [500, 1000, 2000, 4000, 4000]);
    b.reset();
    assert.equal(b.next(), 500);
    const flushed: number[][] = [];
    const batcher = new Batcher<number>(10, (items) => flushed.push(items));
    for (let i = 0; i < 100; i++) batcher.push(i);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(flushed.length, 1);
    assert.equal(flushed[0].length, 100);
  });
});
