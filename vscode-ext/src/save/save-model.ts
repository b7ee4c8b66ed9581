/**
 * Save Model: folder → model → (first save only) entrypoint and base image → a cancellable
 * progress notification that streams saveWorkspace's steps → the version with "Launch
 * Training…". A secret refusal names the file, line and rule and offers to open it there.
 * The answers are remembered in .trainyard/model.json (shared with `trainyard save`).
 * With a notebook open, Save Model (this notebook trains) makes it the train entrypoint.
 */
import * as vscode from 'vscode';
import { relative } from 'node:path';
import type { SaveClient } from '@trainyard/shared/snapshot/save';
import type { SecretHit } from '@trainyard/shared/snapshot/collect';
import { heavy } from '../lazy';
import { transferSummary } from '@trainyard/shared/snapshot/transfer-summary';
import type { WorkspaceModel } from '@trainyard/shared/schemas/workspace-model';
import { Commands } from '../commands';
import type { Deps } from '../deps';
import { describeFailure } from '../connection/connection';
import { interpreterFor } from '../python';
import { askBaseImage, askEntrypoint, pickFolder, pickModel } from './prompts';

class Cancelled extends Error {}

/** the client, with every call refused once the user cancelled (the save stops at its next step) */
function cancellable(client: SaveClient, token: vscode.CancellationToken): SaveClient {
  const guard = <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => (...a: A) => { if (token.isCancellationRequested) throw new Cancelled(); return fn(...a); };
  return {
    createSnapshot: guard((b) => client.createSnapshot(b)),
    putBlob: guard((s, d) => client.putBlob(s, d)),
    buildSnapshot: guard((id, o) => client.buildSnapshot(id, o)),
    ...(client.events ? { events: (o?: Parameters<NonNullable<SaveClient['events']>>[0]) => client.events!(o) } : {}),
    // the fast paths: the base image read while the folder is hashed, the files read in place by a backend on this machine
    ...(client.inspectBaseImage ? { inspectBaseImage: guard((ref: string) => client.inspectBaseImage!(ref)) } : {}),
    ...(client.useLocalFiles ? { useLocalFiles: guard((id: string, files: Parameters<NonNullable<SaveClient['useLocalFiles']>>[1]) => client.useLocalFiles!(id, files)) } : {}),
    onThisMachine: client.onThisMachine,
  };
}

export async function showSecretRefusal(folder: vscode.Uri, hits: SecretHit[], message: string): Promise<void> {
  const first = hits[0];
  const where = `${first.file}${first.line ? ` line ${first.line}` : ''}`;
  const more = hits.length > 1 ? ` (and ${hits.length - 1} more)` : '';
  const action = `Open ${first.file}`;
  const pick = await vscode.window.showErrorMessage(
    `Save Model refused: ${where} looks like a secret (rule: ${first.rule})${more}. Remove it, or list the file in .trainyardignore.`,
    { detail: message }, action,
  );
  if (pick !== action) return;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, first.file));
  const line = Math.max(0, (first.line ?? 1) - 1);
  await vscode.window.showTextDocument(doc, { selection: new vscode.Range(line, 0, line, doc.lineAt(Math.min(line, doc.lineCount - 1)).text.length) });
}

export async function saveModel(deps: Deps, opts: { notebook?: vscode.Uri } = {}): Promise<void> {
  const { saveWorkspace, WorkspaceError, readWorkspaceModel, writeWorkspaceModel, MODEL_FILE } = heavy();
  const folder = await pickFolder(opts.notebook);
  if (!folder) return;
  const dir = folder.uri.fsPath;
  let remembered: WorkspaceModel | null;
  try {
    remembered = await readWorkspaceModel(dir);
  } catch (err) {
    const pick = await vscode.window.showErrorMessage(`Trainyard: ${(err as Error).message}`, `Open ${MODEL_FILE}`);
    if (pick) await vscode.window.showTextDocument(vscode.Uri.joinPath(folder.uri, MODEL_FILE));
    return;
  }
  if (!deps.conn.connected) {
    const pick = await vscode.window.showErrorMessage(`Trainyard: cannot save: ${deps.conn.state.kind === 'unauthorized' ? 'sign in first' : `the backend is unreachable (${'reason' in deps.conn.state ? deps.conn.state.reason : 'connecting'})`}.`, 'Retry', 'Sign In', 'Start Local Backend');
    if (pick === 'Retry') deps.conn.retryNow();
    if (pick === 'Sign In') await vscode.commands.executeCommand(Commands.signIn);
    if (pick === 'Start Local Backend') await vscode.commands.executeCommand(Commands.startBackend);
    return;
  }
  const existing = await deps.conn.client.listModels().then((r) => r.items.map((m) => m.name), () => [] as string[]);
  const model = await pickModel(existing, remembered?.model, folder.name);
  if (!model) return;

  let entrypoints = remembered?.entrypoints;
  let baseImage = remembered?.baseImage;
  const notebookRel = opts.notebook ? relative(dir, opts.notebook.fsPath).split('\\').join('/') : undefined;
  if (notebookRel) entrypoints = { ...(entrypoints ?? {}), train: notebookRel };
  const first = !remembered || remembered.model !== model || !remembered.entrypoints;
  if (first && !notebookRel) {
    const train = await askEntrypoint(dir);
    if (train === undefined) return;
    entrypoints = { ...(remembered?.model === model ? remembered?.entrypoints ?? {} : {}), train: train.trim() };
  }
  if (first && remembered?.model !== model) {
    const base = await askBaseImage();
    if (base === undefined) return;
    baseImage = base.trim() || undefined;
  }
  const interp = await interpreterFor(folder.uri);
  deps.output.appendLine(`Save Model ${model} from ${dir}; interpreter ${interp.path} (${interp.source})${baseImage ? '' : ' — not captured: no base image'}`);

  const started = Date.now();
  try {
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Saving ${model}`, cancellable: true }, async (progress, token) => {
      progress.report({ message: `Python: ${interp.path} (${interp.source})${baseImage ? '' : '; not captured: no base image'}` });
      return saveWorkspace(cancellable(deps.conn.client, token), {
        dir,
        model,
        ...(entrypoints ? { entrypoints: { ...entrypoints } } : {}),
        ...(baseImage ? { baseImage, python: interp.path } : {}),
        ...(remembered?.strategy ? { strategy: remembered.strategy } : {}),
        ...(remembered?.selfTest ? { selfTest: remembered.selfTest } : {}),
        onProgress: (message) => { deps.output.appendLine(`  ${message}`); progress.report({ message }); },
      });
    });
    const v = result.version;
    await writeWorkspaceModel(dir, {
      model,
      ...(entrypoints ? { entrypoints } : { entrypoints: Object.fromEntries(Object.entries(v.entrypoints)) }),
      ...(baseImage ? { baseImage } : {}),
      ...(remembered?.selfTest ? { selfTest: remembered.selfTest } : {}),
      ...(remembered?.strategy ? { strategy: remembered.strategy } : {}),
    }).catch((err) => deps.output.appendLine(`could not write ${MODEL_FILE}: ${(err as Error).message}`));
    deps.output.appendLine(`saved ${v.model}:${v.label} ${v.digest} in ${Date.now() - started} ms`);
    const pick = await vscode.window.showInformationMessage(
      `Saved ${v.model}:${v.label} (${v.digest.slice(0, 19)}…) — ${transferSummary(result)}.`, 'Launch Training…');
    if (pick) deps.openPanel({ kind: 'launch', model: v.model, version: v.label });
  } catch (err) {
    if (err instanceof Cancelled) { void vscode.window.showInformationMessage(`Trainyard: Save Model cancelled; no version of ${model} was recorded.`); return; }
    const secrets = (err as { secrets?: SecretHit[] }).secrets;
    if (err instanceof WorkspaceError && secrets?.length) { await showSecretRefusal(folder.uri, secrets, err.message); return; }
    deps.output.appendLine(`Save Model failed: ${describeFailure(err)}`);
    void vscode.window.showErrorMessage(`Trainyard: Save Model failed: ${describeFailure(err)}`);
  }
}

export function register(context: vscode.ExtensionContext, deps: Deps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.saveModel, () => saveModel(deps)),
    vscode.commands.registerCommand(Commands.saveNotebook, (arg?: vscode.Uri | { notebookEditor?: { notebookUri: vscode.Uri } }) => {
      const uri = arg instanceof vscode.Uri ? arg : arg?.notebookEditor?.notebookUri ?? vscode.window.activeNotebookEditor?.notebook.uri;
      if (!uri || !uri.fsPath.endsWith('.ipynb')) { void vscode.window.showWarningMessage('Trainyard: open a Jupyter notebook (.ipynb) first.'); return; }
      return saveModel(deps, { notebook: uri });
    }),
  );
}
