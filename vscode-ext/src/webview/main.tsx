/**
 * The webview bundle: the shared components inside <TrainyardUi theme="vscode"> over a
 * message-based UiClient (shared/src/protocol). Links become actions for the host (open a run,
 * a sweep, a traceback's source); the panel's view is saved with setState so the serializer
 * can bring it back after a reload.
 */
import '@trainyard/shared/ui/theme.css';
import 'uplot/dist/uPlot.min.css';
import './webview.css';
import { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { TrainyardUi, type ArtifactSaver, type Links } from '@trainyard/shared/ui/context';
import { LaunchForm } from '@trainyard/shared/ui/LaunchForm';
import { RunDetails } from '@trainyard/shared/ui/RunDetails';
import { SweepView } from '@trainyard/shared/ui/SweepView';
import { createMessageClient } from '@trainyard/shared/protocol/webview-client';
import type { PanelAction, PanelView, ToHost, ToWebview } from '@trainyard/shared/protocol/messages';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; setState(s: unknown): void; getState(): unknown };

const vscode = acquireVsCodeApi();
const post = (m: ToHost) => vscode.postMessage(m);
const mc = createMessageClient(post);
window.addEventListener('message', (e: MessageEvent<ToWebview>) => { if (e.data && typeof e.data === 'object') mc.handle(e.data); });

// links are "#ty:<action>:<arg>"; clicks are turned into actions for the host
const links: Links = {
  run: (id) => `#ty:run:${encodeURIComponent(id)}`,
  sweep: (id) => `#ty:sweep:${encodeURIComponent(id)}`,
  model: (name) => `#ty:model:${encodeURIComponent(name)}`,
  source: (path, line) => `#ty:source:${line}:${encodeURIComponent(path)}`,
};
// a webview cannot download: the host asks where, downloads with its token and checks the sha256
const savers: ArtifactSaver[] = [{ label: 'Save as…', save: (run, file) => mc.saveArtifact(run.id, file) }];
let currentView: PanelView | null = null;
function actionOf(href: string): PanelAction | null {
  const m = /^#ty:(run|sweep|model|source):(.*)$/.exec(href);
  if (!m) return null;
  if (m[1] === 'run') return { action: 'openRun', runId: decodeURIComponent(m[2]) };
  if (m[1] === 'sweep') return { action: 'openSweep', sweepId: decodeURIComponent(m[2]) };
  if (m[1] === 'model') return { action: 'openModel', model: decodeURIComponent(m[2]) };
  const s = /^(\d+):(.*)$/.exec(m[2]);
  if (!s) return null;
  return { action: 'openSource', line: Number(s[1]), path: decodeURIComponent(s[2]), ...(currentView?.kind === 'run' ? { runId: currentView.runId } : {}) };
}
document.addEventListener('click', (e) => {
  const a = (e.target as Element | null)?.closest?.('a[href]');
  if (!a) return;
  const href = a.getAttribute('href') ?? '';
  if (!href.startsWith('#')) return;
  e.preventDefault();
  const action = actionOf(href);
  if (action) post({ type: 'action', body: action });
});

function Panel() {
  const [view, setView] = useState<PanelView | null>(null);
  useEffect(() => {
    mc.onView((v) => { currentView = v; setView(v); vscode.setState({ view: v }); });
    post({ type: 'ready' });
  }, []);
  if (!view) return <div className="ty-state">Loading…</div>;
  switch (view.kind) {
    case 'launch':
      return (<>
        <h1 className="ty-h1">Launch training</h1>
        <LaunchForm key={view.model ?? ''} model={view.model} onLaunched={(result) => post({ type: 'action', body: { action: 'launched', result } })} />
      </>);
    case 'run': return <RunDetails key={view.runId} runId={view.runId} logHeight={360} />;
    case 'sweep': return <SweepView key={view.sweepId} sweepId={view.sweepId} />;
  }
}

const el = document.getElementById('root');
if (el) createRoot(el).render(<TrainyardUi client={mc.client} theme="vscode" links={links} savers={savers} className="ty-vscode"><Panel /></TrainyardUi>);
