/**
 * A traceback frame clicked in a run's logs: the image path maps to a workspace file (the folder
 * holding the run's model first), which opens at the line. When the file on disk differs from
 * the version that ran (GET …/versions/:v/files/*path), a warning offers the diff.
 */
import * as vscode from 'vscode';
import type { Deps } from '../deps';
import { mapFrame } from '../traceback';
import { versionUri } from '../version-fs';
import { modelOfFolder } from '../workspace';

export async function openSource(deps: Deps, path: string, line: number, runId?: string): Promise<void> {
  const run = runId ? await deps.conn.client.getRun(runId).catch(() => null) : null;
  const folders = [...(vscode.workspace.workspaceFolders ?? [])];
  if (run) {
    const owners = await Promise.all(folders.map(async (f) => (await modelOfFolder(f)) === run.model));
    folders.sort((a, b) => Number(owners[folders.indexOf(b)]) - Number(owners[folders.indexOf(a)]));
  }
  for (const folder of folders) {
    const rel = await mapFrame(path, async (r) => {
      try { return (await vscode.workspace.fs.stat(vscode.Uri.joinPath(folder.uri, r))).type === vscode.FileType.File; } catch { return false; }
    });
    if (!rel) continue;
    const uri = vscode.Uri.joinPath(folder.uri, rel);
    const doc = await vscode.workspace.openTextDocument(uri);
    const l = Math.min(Math.max(0, line - 1), doc.lineCount - 1);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(l, 0, l, doc.lineAt(l).text.length), preview: false });
    if (run) void warnIfChanged(deps, run.model, run.version, rel, uri, doc.getText());
    return;
  }
  void vscode.window.showWarningMessage(`Trainyard: ${path} (line ${line}) is not in this workspace.`);
}

async function warnIfChanged(deps: Deps, model: string, version: string, rel: string, uri: vscode.Uri, text: string): Promise<void> {
  try {
    const ran = new TextDecoder().decode(await deps.conn.client.readVersionFile(model, version, rel));
    if (ran === text) return;
    const a = await vscode.window.showWarningMessage(`${rel} has changed since ${model}:${version} ran; the line may not match.`, 'Compare');
    if (a) await vscode.commands.executeCommand('vscode.diff', versionUri(model, version, rel), uri, `${rel} (${version}) ↔ workspace`);
  } catch {
    /* the version's files cannot be read (older backend): no warning */
  }
}
