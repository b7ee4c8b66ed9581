/**
 * The LogViewer hook the Run Results panel uses (jsdom): with `links.source`, each traceback
 * frame becomes a link to its file and line; without it (the dashboard) the log renders as before.
 */
import assert from 'node:assert/strict';
import globalJsdom from 'global-jsdom';
import { createElement } from 'react';
import type { LogLine } from '@trainyard/shared/schemas/runs';
import type * as Rtl from '@testing-library/react';
import type * as Ctx from '../../shared/src/ui/context';
import type * as Logs from '../../shared/src/ui/LogViewer';

const T = '2026-01-01T00:00:00.000Z';
const lines: LogLine[] = [
  { seq: 0, stream: 'stderr', text: 'Traceback (most recent call last):', time: T },
  { seq: 1, stream: 'stderr', text: '  File "/app/train.py", line 14, in <module>', time: T },
  { seq: 2, stream: 'stderr', text: "ValueError: invalid literal for int() with base 10: 'many'", time: T },
];
const client = { async *followLogs() { for (const l of lines) yield l; } } as unknown as Ctx.UiClient;
const hashLinks = { run: (id: string) => `#r/${id}`, sweep: (id: string) => `#s/${id}`, model: (m: string) => `#m/${m}` };

describe('LogViewer traceback links (jsdom)', function () {
  this.timeout(20000);
  let rtl: typeof Rtl;
  let ctx: typeof Ctx;
  let logs: typeof Logs;
  let cleanup: () => void;
  before(async () => {
    cleanup = globalJsdom('<!doctype html><html><body></body></html>', { url: 'http://localhost/', pretendToBeVisual: true });
    rtl = await import('@testing-library/react');
    ctx = await import('../../shared/src/ui/context');
    logs = await import('../../shared/src/ui/LogViewer');
  });
  afterEach(() => rtl.cleanup());
  after(() => cleanup());

  const mount = (links: Ctx.Links) => rtl.render(createElement(ctx.TrainyardUi, { client, theme: 'vscode', links, children: createElement(logs.LogViewer, { runId: 'run_0000000001', height: 400 }) }));
  // queries go through the container: another suite may have loaded Testing Library's `screen` against an earlier jsdom
  const count = (c: HTMLElement) => c.querySelector('[data-testid=log-count]')?.textContent ?? '';

  it('links each frame to its file and line when the embedding gives links.source', async () => {
    const { container } = mount({ ...hashLinks, source: (path, line) => `#src:${line}:${path}` });
    await rtl.waitFor(() => assert.match(count(container), /3 lines · complete/));
    const a = [...container.querySelectorAll('a.ty-source-link')];
    assert.equal(a.length, 1);
    assert.equal(a[0].getAttribute('href'), '#src:14:/app/train.py');
    assert.equal(a[0].textContent, '"/app/train.py", line 14');
    assert.match(a[0].closest('.ty-logline')?.textContent ?? '', /File "\/app\/train\.py", line 14, in <module>/);
  });

  it('renders no links without links.source (the dashboard)', async () => {
    const { container } = mount(hashLinks);
    await rtl.waitFor(() => assert.match(count(container), /3 lines · complete/));
    assert.equal(container.querySelectorAll('a').length, 0);
    assert.match(container.textContent ?? '', /File "\/app\/train\.py", line 14/);
  });
});
