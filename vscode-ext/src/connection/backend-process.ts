/**
 * Start Local Backend: runs `trainyard serve` (trainyard.cliPath, else `trainyard` on PATH) as
 * a child process, its output in the "Trainyard Backend" OutputChannel; it stops with the window
 * (dispose). When it answers /healthz the connection starts over (re-reading the token it wrote).
 */
import * as vscode from 'vscode';
import { spawn, type ChildProcess } from 'node:child_process';
import { Commands } from '../commands';
import { readSettings, isLocalUrl } from './settings';
import type { Deps } from '../deps';

export function register(context: vscode.ExtensionContext, deps: Deps): void {
  let child: ChildProcess | null = null;
  const out = vscode.window.createOutputChannel('Trainyard Backend');
  context.subscriptions.push(out, { dispose: () => { child?.kill('SIGTERM'); child = null; } });
  context.subscriptions.push(vscode.commands.registerCommand(Commands.startBackend, async () => {
    const s = readSettings();
    if (child && child.exitCode === null) { out.show(true); void vscode.window.showInformationMessage('Trainyard: the local backend is already running (see the "Trainyard Backend" output).'); return; }
    if (!isLocalUrl(s.url)) {
      const go = await vscode.window.showWarningMessage(`trainyard.url is ${s.url}, not this machine. Start a local backend anyway? (it serves its configured address, http://127.0.0.1:7878 by default)`, 'Start', 'Cancel');
      if (go !== 'Start') return;
    }
    const parts = s.cliPath.endsWith('.mjs') || s.cliPath.endsWith('.js') ? [process.execPath, s.cliPath] : [s.cliPath];
    out.appendLine(`$ ${[...parts, 'serve'].join(' ')}`);
    out.show(true);
    const c = spawn(parts[0], [...parts.slice(1), 'serve'], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    c.stdout?.on('data', (d) => out.append(String(d)));
    c.stderr?.on('data', (d) => out.append(String(d)));
    c.on('error', (err) => {
      out.appendLine(`could not start: ${err.message}`);
      void vscode.window.showErrorMessage(`Trainyard: could not start \`${s.cliPath} serve\`: ${err.message}. Install the CLI or set trainyard.cliPath.`, 'Open Settings')
        .then((a) => a && vscode.commands.executeCommand('workbench.action.openSettings', 'trainyard.cliPath'));
    });
    c.on('exit', (code, sig) => { out.appendLine(`backend exited (${sig ?? code})`); if (child === c) child = null; });
    // once it answers, connect again from scratch: a new backend may have just written its token
    void (async () => {
      for (let i = 0; i < 120 && child === c && c.exitCode === null; i++) {
        try { if ((await fetch(`${s.url}/healthz`)).ok) { out.appendLine('backend is up; connecting'); await deps.conn.connect(); return; } } catch { /* not yet */ }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
  }));
}
