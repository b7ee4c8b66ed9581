/**
 * The status bar item (connected with version and default hardware / signing in /
 * unreachable with the reason) and its menu: Reconnect, Sign In, Open Dashboard, Start
 * Local Backend. Also the Sign In and Open Dashboard commands.
 */
import * as vscode from 'vscode';
import { Commands } from '../commands';
import type { Connection, ConnState } from './connection';
import { checkToken, secretKey } from './token';
import type { Deps } from '../deps';

export function statusText(s: ConnState, hardware: string | undefined): { text: string; tooltip: string; warn: boolean } {
  switch (s.kind) {
    case 'connecting': return { text: '$(sync~spin) Trainyard', tooltip: `Connecting to ${s.url}…`, warn: false };
    case 'connected': return { text: `$(check) Trainyard${hardware ? ` · ${hardware}` : ''}`, tooltip: `Connected to ${s.url} (backend ${s.version})${hardware ? `; default hardware ${hardware}` : ''}`, warn: false };
    case 'unauthorized': return { text: '$(key) Trainyard: sign in', tooltip: `${s.url}: ${s.reason}`, warn: true };
    case 'unreachable': return { text: '$(debug-disconnect) Trainyard: unreachable', tooltip: `${s.url}: ${s.reason}`, warn: true };
  }
}

export function register(context: vscode.ExtensionContext, deps: Deps): void {
  const { conn } = deps;
  const item = vscode.window.createStatusBarItem('trainyard.status', vscode.StatusBarAlignment.Left, 50);
  item.name = 'Trainyard';
  item.command = Commands.statusMenu;
  const update = () => {
    const t = statusText(conn.state, deps.defaultHardware());
    item.text = t.text;
    item.tooltip = t.tooltip;
    item.backgroundColor = t.warn ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  };
  update();
  item.show();
  context.subscriptions.push(item, conn.onDidChangeState(update), deps.onDidChangeHardware(update));

  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.statusMenu, async () => {
      const items = [
        { label: '$(refresh) Reconnect', id: Commands.reconnect },
        { label: '$(key) Sign In', id: Commands.signIn },
        { label: '$(link-external) Open Dashboard', id: Commands.openDashboard },
        { label: '$(server-process) Start Local Backend', id: Commands.startBackend },
      ];
      const pick = await vscode.window.showQuickPick(items, { title: `Trainyard — ${statusText(conn.state, deps.defaultHardware()).tooltip}` });
      if (pick) await vscode.commands.executeCommand(pick.id);
    }),
    vscode.commands.registerCommand(Commands.reconnect, () => conn.connect()),
    vscode.commands.registerCommand(Commands.signIn, async () => {
      const token = await vscode.window.showInputBox({
        title: `Sign in to ${conn.url}`,
        prompt: 'The token: run `trainyard open` on the backend machine, or read ~/.trainyard/token there.',
        password: true,
        ignoreFocusOut: true,
        validateInput: checkToken,
      });
      if (token === undefined) return;
      await context.secrets.store(secretKey(conn.url), token.trim());
      await conn.connect();
    }),
    vscode.commands.registerCommand(Commands.openDashboard, async (arg?: { run?: { id: string } }) => {
      // the dashboard takes #token=… out of the address bar at once and stores it (session.ts)
      const external = await vscode.env.asExternalUri(vscode.Uri.parse(`${conn.url}/`));
      const ok = await vscode.env.openExternal(external.with({ fragment: conn.token ? `token=${encodeURIComponent(conn.token)}` : '/runs' }));
      if (ok && arg?.run) void vscode.window.showInformationMessage(`The dashboard opened; run ${arg.run.id} is under Runs.`);
    }),
  );
}
