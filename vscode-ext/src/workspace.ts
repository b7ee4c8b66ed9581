/** Which workspace folder holds a model: the one whose .trainyard/model.json names it, else a pick (or the only folder). */
import * as vscode from 'vscode';
import { heavy } from './lazy';

export async function modelOfFolder(folder: vscode.WorkspaceFolder): Promise<string | null> {
  try {
    return (await heavy().readWorkspaceModel(folder.uri.fsPath))?.model ?? null;
  } catch {
    return null;
  }
}

export async function folderForModel(model: string | undefined, ask: boolean): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (!folders.length) { if (ask) void vscode.window.showWarningMessage('Trainyard: open a folder first.'); return undefined; }
  if (model) for (const f of folders) if ((await modelOfFolder(f)) === model) return f;
  if (folders.length === 1 || !ask) return folders[0];
  return vscode.window.showWorkspaceFolderPick({ placeHolder: model ? `Which folder holds ${model}?` : 'Which folder?' });
}
