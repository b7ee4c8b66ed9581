/** The tree item every view shows instead of content when the backend is not usable: the reason, and Retry. */
import * as vscode from 'vscode';
import { Commands } from '../commands';
import type { ConnState } from '../connection/connection';

export interface MessageNode { kind: 'message'; key: string; text: string; detail?: string; icon: string; command?: vscode.Command }

export function stateMessage(s: ConnState, what: string): MessageNode | null {
  switch (s.kind) {
    case 'connected': return null;
    case 'connecting': return { kind: 'message', key: 'msg', text: `Connecting to ${s.url}…`, icon: 'sync~spin' };
    case 'unauthorized': return { kind: 'message', key: 'msg', text: `Sign in to see ${what}`, detail: s.reason, icon: 'key', command: { command: Commands.signIn, title: 'Sign In' } };
    case 'unreachable': return { kind: 'message', key: 'msg', text: `Backend unreachable — Retry`, detail: s.reason, icon: 'debug-disconnect', command: { command: Commands.reconnect, title: 'Retry' } };
  }
}

export function messageItem(n: MessageNode): vscode.TreeItem {
  const item = new vscode.TreeItem(n.text, vscode.TreeItemCollapsibleState.None);
  item.id = `message:${n.text}`;
  item.description = n.detail;
  item.tooltip = n.detail ? `${n.text}\n${n.detail}` : n.text;
  item.iconPath = new vscode.ThemeIcon(n.icon);
  item.command = n.command;
  item.contextValue = 'message';
  return item;
}

/** the full reason above a view's rows (a row's description is cut to the side bar's width) */
export function bindStateMessage(view: vscode.TreeView<unknown>, conn: { state: ConnState; onDidChangeState: vscode.Event<ConnState> }): vscode.Disposable {
  const set = () => {
    const s = conn.state;
    view.message = s.kind === 'unreachable' ? `Backend unreachable (${s.url}): ${s.reason}. Retrying by itself; Retry below tries now.`
      : s.kind === 'unauthorized' ? `Not signed in to ${s.url}: ${s.reason}.` : undefined;
  };
  set();
  return conn.onDidChangeState(set);
}
