/**
 * activate(): builds the connection and calls each feature's register(). Nothing here waits on
 * the network: the connection connects in the background and every view shows its state.
 */
import * as vscode from 'vscode';
import { Commands } from './commands';
import type { Deps } from './deps';
import { Connection } from './connection/connection';
import * as status from './connection/status';
import * as backendProcess from './connection/backend-process';
import * as runsView from './views/runs';
import * as modelsView from './views/models';
import * as panels from './webviews/panels';
import * as save from './save/save-model';
import * as quick from './launch/quick';
import * as runCommands from './runs/commands';
import * as versionFs from './version-fs';
import { createNotifier } from './runs/notify';
import { openSource } from './runs/open-source';

export function activate(context: vscode.ExtensionContext): { deps: Deps } {
  const conn = new Connection(context.secrets);
  const output = vscode.window.createOutputChannel('Trainyard');
  const hwEmitter = new vscode.EventEmitter<void>();
  context.subscriptions.push(conn, output, hwEmitter);

  let panelHost: panels.Panels | null = null;
  const openPanel = (v: Parameters<panels.Panels['show']>[0]) => panelHost?.show(v);
  const notifier = createNotifier(conn, openPanel);
  context.subscriptions.push(notifier);

  const deps: Deps = {
    conn,
    output,
    defaultHardware: () => context.workspaceState.get<string>('trainyard.defaultHardware'),
    setDefaultHardware: async (name) => { await context.workspaceState.update('trainyard.defaultHardware', name); hwEmitter.fire(); },
    onDidChangeHardware: hwEmitter.event,
    openPanel,
    trackLaunch: (r) => notifier.track(r),
  };

  panelHost = panels.register(context, deps, (a) => {
    switch (a.action) {
      case 'openRun': openPanel({ kind: 'run', runId: a.runId }); break;
      case 'openSweep': openPanel({ kind: 'sweep', sweepId: a.sweepId }); break;
      case 'openModel': void vscode.commands.executeCommand('trainyard.models.focus'); break;
      case 'openSource': void openSource(deps, a.path, a.line, a.runId); break;
      case 'launched': deps.trackLaunch(a.result); void vscode.commands.executeCommand('trainyard.runs.focus'); break;
    }
  });
  status.register(context, deps);
  backendProcess.register(context, deps);
  runsView.register(context, deps);
  modelsView.register(context, deps);
  save.register(context, deps);
  quick.register(context, deps);
  runCommands.register(context, deps);
  versionFs.register(context, deps);
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.openSource, (path: string, line: number, runId?: string) => openSource(deps, path, line, runId)),
    vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('trainyard.url')) void conn.connect(); }),
  );
  void conn.connect();
  return { deps };
}

export function deactivate(): void {}
