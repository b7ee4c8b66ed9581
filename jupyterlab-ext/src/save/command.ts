/**
 * Save Model from the current notebook: save the notebook first (after asking), read the
 * kernel's interpreter, load the remembered answers (.trainyard/model.json) or ask the first-
 * save dialog, then stream the server-side save into one progress notification. A secret
 * refusal offers to open the file at the line; success shows the version and "Launch training…".
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { describeError } from '../../../shared/src/ui/states';
import { transferSummary } from '../../../shared/src/snapshot/transfer-summary';
import type { ITrainyard } from '../tokens';
import { askSaveAnswers, type SaveAnswers } from './dialog';
import { kernelPython } from './kernel';
import type { SaveRequest } from './types';

export interface SaveDeps { ty: ITrainyard; docManager: IDocumentManager }

/** opens a workspace file (path relative to the notebook's folder) at a 1-based line */
export async function openAt(docManager: IDocumentManager, folder: string, file: string, line?: number): Promise<void> {
  const path = folder ? PathExt.join(folder, file) : file;
  try {
    await docManager.services.contents.get(path, { content: false });
  } catch {
    // Jupyter's contents API hides dotfiles unless ContentsManager.allow_hidden=True
    const hidden = file.split('/').some((p) => p.startsWith('.'));
    Notification.error(hidden
      ? `Jupyter does not open hidden files like ${path} (start it with --ContentsManager.allow_hidden=True). Remove the file from a terminal, or list it in .trainyardignore.`
      : `Cannot open ${path}: it is no longer there.`, { autoClose: false });
    return;
  }
  const widget = docManager.openOrReveal(path, 'Editor');
  if (!widget) return;
  await widget.context.ready;
  const editor = (widget.content as unknown as { editor?: { setCursorPosition(p: { line: number; column: number }): void; focus(): void } }).editor;
  if (editor && line) {
    editor.setCursorPosition({ line: line - 1, column: 0 });
    editor.focus();
  }
}

export async function saveModel(panel: NotebookPanel, deps: SaveDeps, opts: { ask?: boolean } = {}): Promise<void> {
  const { ty, docManager } = deps;
  const ctx = panel.context;
  if (ctx.model.dirty) {
    const r = await showDialog({
      title: 'Save the notebook first?',
      body: `${ctx.path} has unsaved changes. Save Model ships the notebook as it is on disk.`,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Save and continue' })],
    });
    if (!r.button.accept) return;
    await ctx.save();
  }
  const folder = PathExt.dirname(ctx.path);
  const [python, preview] = await Promise.all([
    kernelPython(panel.sessionContext).catch(() => null),
    ty.client.workspace(ctx.path).catch((err: unknown) => err as Error),
  ]);
  if (preview instanceof Error) {
    Notification.error(`Save Model: ${describeError(preview, 'the workspace').detail}`, { autoClose: false });
    return;
  }
  const request: SaveRequest = { notebook: ctx.path, ...(python ? { python } : {}) };
  if (!preview.remembered || opts.ask) {
    const models = await ty.client.listModels().then((r) => r.items.map((m) => m.name), () => []);
    const r = preview.remembered;
    const initial: SaveAnswers = { model: r?.model ?? '', predict: '', baseImage: r?.baseImage ?? '', selfTest: r?.selfTest ?? '' };
    const answers = await askSaveAnswers(preview, models, python, initial);
    if (!answers) return;
    request.model = answers.model.trim();
    request.entrypoints = { train: preview.notebook, ...(answers.predict ? { predict: answers.predict } : {}) };
    request.baseImage = answers.baseImage.trim();
    request.selfTest = answers.selfTest.trim();
  }
  await runSave(request, folder, deps);
}

async function runSave(request: SaveRequest, folder: string, deps: SaveDeps): Promise<void> {
  const { ty, docManager } = deps;
  const id = Notification.emit('Save Model: starting…', 'in-progress', { autoClose: false });
  const update = (message: string, type: Notification.TypeOptions, actions?: Notification.IAction[]) =>
    Notification.update({ id, message, type, autoClose: false, ...(actions ? { actions } : {}) });
  try {
    for await (const e of ty.client.save(request)) {
      if (e.type === 'progress') update(`Save Model: ${e.message}`, 'in-progress');
      else if (e.type === 'refused') {
        const first = e.secrets[0];
        // toasts are short: the rule's name without its explanation in parentheses
        const where = e.secrets.slice(0, 3).map((s) => `${s.file}${s.line ? ` line ${s.line}` : ''} (${s.rule.replace(/\s*\(.*$/, '')})`).join(', ');
        update(`Save Model refused: ${where}${e.secrets.length > 3 ? ', …' : ''} looks like a secret; nothing was sent.`, 'error', [
          { label: `Open ${first.file}`, callback: () => void openAt(docManager, folder, first.file, first.line) },
        ]);
        return;
      } else if (e.type === 'error') {
        update(`Save Model failed: ${e.message}`, 'error');
        return;
      } else if (e.type === 'result') {
        const v = e.version;
        ty.rememberFolder(v.model, folder);
        ty.setCurrentModel(v.model);
        update(`Saved ${v.model}:${v.label} (${v.digest.slice(0, 19)}), ${transferSummary(e)}`, 'success', [
          { label: 'Launch training…', callback: () => ty.openLaunch(v.model), displayType: 'accent' },
        ]);
        return;
      }
    }
    update('Save Model: the save ended without an answer (the Jupyter server may have stopped)', 'error');
  } catch (err) {
    update(`Save Model failed: ${describeError(err, 'the save').detail}`, 'error');
  }
}
