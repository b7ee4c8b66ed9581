/**
 * The panel host: Launch, Run Results and Sweep Comparison are one webview bundle showing a
 * PanelView. Each panel gets a host bridge (shared/src/protocol) answering its UiClient calls
 * with the extension's client (and its saveArtifact with a save dialog); the webview never sees the token. Panels are keyed by view (one
 * per run), restored after a reload by a WebviewPanelSerializer from the state the webview saves,
 * and `retainContextWhenHidden` is off (the webview re-asks for its data when shown again).
 */
import * as vscode from 'vscode';
import { createHostBridge } from '@trainyard/shared/protocol/host';
import type { PanelAction, PanelView } from '@trainyard/shared/protocol/messages';
import type { Deps } from '../deps';
import { saveArtifact } from '../runs/save-artifact';
import { nonce, panelHtml } from './html';

export const PANEL_TYPES = { launch: 'trainyard.launch', run: 'trainyard.runResults', sweep: 'trainyard.sweep' } as const;

const keyOf = (v: PanelView) => (v.kind === 'launch' ? 'launch' : v.kind === 'run' ? `run:${v.runId}` : `sweep:${v.sweepId}`);
const titleOf = (v: PanelView) => (v.kind === 'launch' ? `Launch${v.model ? ` ${v.model}` : ''}` : v.kind === 'run' ? `Run ${v.runId}` : `Sweep ${v.sweepId}`);

export function isPanelView(v: unknown): v is PanelView {
  const o = v as Record<string, unknown> | null;
  if (!o || typeof o !== 'object') return false;
  if (o.kind === 'launch') return (o.model === undefined || typeof o.model === 'string') && (o.version === undefined || typeof o.version === 'string');
  if (o.kind === 'run') return typeof o.runId === 'string' && o.runId.length > 0 && o.runId.length < 200;
  if (o.kind === 'sweep') return typeof o.sweepId === 'string' && o.sweepId.length > 0 && o.sweepId.length < 200;
  return false;
}

export class Panels {
  private readonly open = new Map<string, { panel: vscode.WebviewPanel; setView(v: PanelView): void }>();
  constructor(private readonly context: vscode.ExtensionContext, private readonly deps: Deps, private readonly onAction: (a: PanelAction) => void) {}

  show(view: PanelView): void {
    const had = this.open.get(keyOf(view));
    if (had) { had.setView(view); had.panel.reveal(); return; }
    const panel = vscode.window.createWebviewPanel(PANEL_TYPES[view.kind], titleOf(view), vscode.ViewColumn.Active, this.options());
    this.attach(panel, view);
  }

  options(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, retainContextWhenHidden: false, localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist')] };
  }

  attach(panel: vscode.WebviewPanel, initial: PanelView): void {
    let view = initial;
    const key = keyOf(view);
    this.open.set(key, { panel, setView: (v) => { view = v; post({ type: 'init', view }); } });
    const webview = panel.webview;
    webview.options = this.options();
    const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist');
    const n = nonce();
    const post = (m: unknown) => void webview.postMessage(m);
    const bridge = createHostBridge({
      client: () => this.deps.conn.client,
      post,
      onReady: () => post({ type: 'init', view }),
      onAction: (a) => this.onAction(a),
      saveArtifact: (runId, file) => saveArtifact(this.deps, runId, file),
    });
    const sub = webview.onDidReceiveMessage((m) => bridge.handle(m));
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      nonce: n,
      title: titleOf(view),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
    });
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'trainyard.svg');
    panel.onDidDispose(() => { bridge.dispose(); sub.dispose(); this.open.delete(key); });
  }
}

export function register(context: vscode.ExtensionContext, deps: Deps, onAction: (a: PanelAction) => void): Panels {
  const panels = new Panels(context, deps, onAction);
  for (const type of Object.values(PANEL_TYPES)) {
    context.subscriptions.push(vscode.window.registerWebviewPanelSerializer(type, {
      async deserializeWebviewPanel(panel, state: unknown) {
        const view = (state as { view?: unknown } | undefined)?.view;
        if (isPanelView(view)) panels.attach(panel, view);
        else panel.dispose();
      },
    }));
  }
  return panels;
}
