/**
 * The questions Save Model asks: the folder, the model (existing ones, or a new name typed into
 * the same QuickPick, checked with the shared ModelName pattern), and on the first save the
 * train entrypoint and the base image. Each returns undefined when the user backs out.
 */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { checkModelName } from './model-name';

export async function pickFolder(hint?: vscode.Uri): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (hint) { const f = vscode.workspace.getWorkspaceFolder(hint); if (f) return f; }
  if (!folders.length) { void vscode.window.showWarningMessage('Trainyard: open the folder of your model first (File > Open Folder).'); return undefined; }
  if (folders.length === 1) return folders[0];
  return vscode.window.showWorkspaceFolderPick({ placeHolder: 'Save which folder as a model version?' });
}

type ModelItem = vscode.QuickPickItem & { model: string };

export function pickModel(existing: string[], remembered: string | undefined, folderName: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<ModelItem>();
    qp.title = `Save ${folderName} as a version of…`;
    qp.placeholder = 'Pick a model, or type a new model name';
    const base: ModelItem[] = existing.map((m) => ({ label: m, model: m, description: m === remembered ? 'this workspace (.trainyard/model.json)' : undefined }));
    if (remembered && !existing.includes(remembered)) base.unshift({ label: remembered, model: remembered, description: 'new model (from .trainyard/model.json)' });
    base.sort((a, b) => (a.model === remembered ? -1 : b.model === remembered ? 1 : 0));
    const update = () => {
      const v = qp.value.trim();
      if (v && !existing.includes(v) && v !== remembered) {
        const problem = checkModelName(v);
        qp.items = [{ label: problem ? `$(error) ${v}` : `$(add) New model: ${v}`, model: problem ? '' : v, detail: problem ?? undefined, alwaysShow: true }, ...base];
      } else qp.items = base;
    };
    update();
    qp.onDidChangeValue(update);
    let done = false;
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0];
      if (!item || !item.model) return; // an invalid name stays open with its message
      done = true;
      resolve(item.model);
      qp.hide();
    });
    qp.onDidHide(() => { if (!done) resolve(undefined); qp.dispose(); });
    qp.show();
  });
}

export async function askEntrypoint(dir: string, notebook?: string): Promise<string | undefined> {
  const guess = notebook ?? (existsSync(join(dir, 'train.py')) ? 'python train.py' : '');
  return vscode.window.showInputBox({
    title: 'Save Model (first save): the train entrypoint',
    prompt: 'The command that trains, run in the folder (a notebook works too: notebook.ipynb). Remembered in .trainyard/model.json.',
    value: guess,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? null : 'The train command is required, e.g. python train.py'),
  });
}

export async function askBaseImage(): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: 'Save Model (first save): the base image',
    prompt: 'An OCI image such as python:3.11-slim. Leave empty for none (runs use the backend machine\'s Python in a process sandbox). Remembered in .trainyard/model.json.',
    placeHolder: 'empty: no base image',
    ignoreFocusOut: true,
    validateInput: (v) => (/\s/.test(v.trim()) ? 'An image reference has no spaces' : v.length > 1024 ? 'Too long' : null),
  });
}
