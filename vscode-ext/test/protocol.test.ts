/**
 * The webview protocol end to end without VS Code: the webview's message client and the host
 * bridge joined by a wire that structured-clones every message (as postMessage does), with a
 * real backend (in process) behind the host's TrainyardClient.
 */
import assert from 'node:assert/strict';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ApiError } from '@trainyard/shared/client';
import { createHostBridge, type HostBridge } from '@trainyard/shared/protocol/host';
import { createMessageClient, type MessageClient } from '@trainyard/shared/protocol/webview-client';
import { parseToHost, type PanelAction, type PanelView, type ToHost, type ToWebview } from '@trainyard/shared/protocol/messages';
import type { ArtifactFile } from '@trainyard/shared';
import { COUNTER, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../../test/helpers/backend';

function pair(b: TestBackend, view: PanelView = { kind: 'run', runId: 'run_0000000000' }, saveArtifact?: (runId: string, file: ArtifactFile) => Promise<string>) {
  const sent: ToHost[] = [];
  const actions: PanelAction[] = [];
  let host!: HostBridge;
  let web!: MessageClient;
  const toHost = (m: ToHost) => { sent.push(m); const c = structuredClone(m); queueMicrotask(() => host.handle(c)); };
  const toWebview = (m: ToWebview) => { const c = structuredClone(m); queueMicrotask(() => web.handle(c)); };
  web = createMessageClient(toHost);
  host = createHostBridge({ client: () => b.client, post: toWebview, onReady: () => toWebview({ type: 'init', view }), onAction: (a) => actions.push(a), saveArtifact });
  return { host, web, sent, actions };
}

describe('webview protocol (shared/src/protocol) over a real backend', function () {
  this.timeout(60000);
  let b: TestBackend;
  let version: string;
  before(async () => {
    b = await startTestBackend();
    version = (await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1' })).version.label;
  });
  after(async () => { await b?.close(); if (b) removeHome(b.home); });

  it('answers the ready handshake with the view', async () => {
    const p = pair(b, { kind: 'launch', model: 'counter' });
    const view = new Promise<PanelView>((r) => p.web.onView(r));
    p.host.handle({ type: 'ready' });
    assert.deepEqual(await view, { kind: 'launch', model: 'counter' });
    assert.deepEqual(await p.web.view, { kind: 'launch', model: 'counter' });
  });

  it('relays requests and replies with the same values as the client', async () => {
    const { web, sent } = pair(b);
    const direct = await b.client.listHardware();
    const relayed = await web.client.listHardware();
    assert.deepEqual(relayed, direct);
    const versions = await web.client.listVersions('counter');
    assert.equal(versions.items[0].label, version);
    const ids = sent.filter((m) => m.type === 'request').map((m) => (m as { id: number }).id);
    assert.equal(new Set(ids).size, ids.length, 'request ids repeat');
  });

  it('turns a server error into an ApiError with status and code in the webview', async () => {
    const { web } = pair(b);
    await assert.rejects(web.client.getRun('run_doesnotexist00'), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'not_found');
      return true;
    });
  });

  it('streams a run\'s log to its end, then ends the stream', async () => {
    const { web, host } = pair(b);
    const res = await b.client.launch({ model: 'counter', params: { steps: 5, sleep: 0.05 } });
    const lines: string[] = [];
    for await (const l of web.client.followLogs(res.runs[0].id, { after: -1 })) lines.push(l.text);
    const direct = await b.client.getLogs(res.runs[0].id);
    assert.deepEqual(lines, direct.lines.map((l) => l.text));
    assert.ok(lines.length >= 5, lines.join('\n'));
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(host.openStreams(), 0);
  });

  it('cancels a stream when the webview stops reading: the host aborts its request', async () => {
    const { web, host, sent } = pair(b);
    const ac = new AbortController();
    const got: string[] = [];
    const launched = new Promise<void>((resolve) => {
      void (async () => {
        try {
          for await (const e of web.client.events({ signal: ac.signal, onOpen: () => resolve() })) {
            got.push(e.kind);
            if (e.kind === 'run') break;
          }
        } catch { /* aborted */ }
      })();
    });
    await launched;
    await new Promise((r) => setTimeout(r, 200)); // the host has subscribed
    assert.equal(host.openStreams(), 1);
    const res = await b.client.launch({ model: 'counter', params: { steps: 1 } });
    await waitForRuns(b.client, res.runs.map((r) => r.id));
    for (let i = 0; i < 100 && host.openStreams() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(got.includes('run'), `no run event: ${got.join(',')}`);
    assert.equal(host.openStreams(), 0, 'the host still streams after the webview stopped');
    assert.ok(sent.some((m) => m.type === 'cancel'), 'no cancel message was sent');
  });

  it('passes actions to the host and ignores malformed messages', async () => {
    const { host, actions } = pair(b);
    host.handle({ type: 'action', body: { action: 'openSource', path: '/app/train.py', line: 14, runId: 'run_0000000000' } });
    host.handle({ type: 'action', body: { action: 'openSource', path: '/app/train.py', line: 0 } });
    host.handle({ type: 'request', id: 1, method: 'constructor', args: [] });
    host.handle({ type: 'request', id: -1, method: 'listModels', args: [] });
    host.handle('ready');
    host.handle(null);
    assert.deepEqual(actions, [{ action: 'openSource', path: '/app/train.py', line: 14, runId: 'run_0000000000' }]);
    assert.equal(parseToHost({ type: 'stream', id: 3, method: 'getRun', args: [] }), null);
    assert.equal(parseToHost({ type: 'cancel', id: 1.5 }), null);
    assert.deepEqual(parseToHost({ type: 'cancel', id: 7 }), { type: 'cancel', id: 7 });
  });

  it('relays listArtifacts, and saveArtifact to the host\'s save with its arguments checked', async () => {
    const asked: Array<[string, ArtifactFile]> = [];
    const p = pair(b, undefined, async (runId, file) => { asked.push([runId, file]); return `saved to ${file.path}`; });
    await assert.rejects(p.web.client.listArtifacts('run_0000000000'), (e: ApiError) => e.status === 404);
    const file = { path: 'model/weights.bin', size: 3, sha256: 'a'.repeat(64) };
    assert.equal(await p.web.saveArtifact('run_0000000000', file), 'saved to model/weights.bin');
    assert.deepEqual(asked, [['run_0000000000', file]]);
    // a path that could leave the folder the user picked never reaches the host's save
    await assert.rejects(p.web.saveArtifact('run_0000000000', { ...file, path: '../../.bashrc' }), (e: ApiError) => e.status === 400 && /arguments not understood/.test(e.message));
    await assert.rejects(p.web.saveArtifact('run_0000000000', { ...file, sha256: 'nope' }), (e: ApiError) => e.status === 400);
    assert.equal(asked.length, 1);
    // a host without a save says so
    await assert.rejects(pair(b).web.saveArtifact('run_0000000000', file), (e: ApiError) => e.status === 501 && /cannot save artifact files/.test(e.message));
  });

  it('sends nothing to a disposed panel', async () => {
    const posted: ToWebview[] = [];
    const host = createHostBridge({ client: () => b.client, post: (m) => posted.push(m), onReady: () => undefined, onAction: () => undefined });
    host.handle({ type: 'request', id: 1, method: 'listModels', args: [] });
    host.dispose();
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(posted, []);
  });
});
