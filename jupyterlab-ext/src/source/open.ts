/**
 * A traceback frame clicked in Run Results: the image path (code at /app) becomes a workspace
 * path in the folder that holds the run's model. A frame in a notebook's generated script
 * (.trainyard/notebooks/*.py) is mapped back to the notebook cell and line with the shared
 * line-to-cell map, read from the script as it was saved in the run's version (not from disk).
 */
import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { scriptLineToCell } from '../../../shared/src/snapshot/line-map';
import { describeError } from '../../../shared/src/ui/states';
import { openAt } from '../save/command';
import type { ITrainyard } from '../tokens';

/** the workspace-relative path of a frame's file: after the last `/app/` (images and the local sandbox), else null */
export function workspacePath(framePath: string): string | null {
  const p = framePath.replace(/\\/g, '/');
  const at = p.lastIndexOf('/app/');
  const rel = at >= 0 ? p.slice(at + 5) : p.startsWith('/') ? '' : p;
  return rel && !rel.split('/').some((s) => s === '..' || s === '') ? rel : null;
}

const enc = encodeURIComponent;

export async function openSource(ty: ITrainyard, docManager: IDocumentManager, runId: string, framePath: string, line: number): Promise<void> {
  try {
    const rel = workspacePath(framePath);
    if (!rel) { Notification.warning(`${framePath} is not a file of the saved workspace (a library file?)`, { autoClose: 6000 }); return; }
    const run = await ty.client.getRun(runId);
    const folder = ty.folderOf(run.model);
    if (folder === null) {
      Notification.warning(`Open a notebook of ${run.model} first: Trainyard does not know which folder holds it.`, { autoClose: 8000 });
      return;
    }
    if (!rel.startsWith('.trainyard/notebooks/')) { await openAt(docManager, folder, rel, line); return; }
    const res = await ty.client.request(`trainyard/api/v1/models/${enc(run.model)}/versions/${enc(run.version)}/files/${rel.split('/').map(enc).join('/')}`);
    const loc = scriptLineToCell(await res.text(), line);
    if (!loc) { Notification.warning(`Line ${line} of ${rel} is not in a notebook cell.`, { autoClose: 6000 }); return; }
    const path = folder ? PathExt.join(folder, loc.notebook) : loc.notebook;
    const panel = docManager.openOrReveal(path) as NotebookPanel | undefined;
    if (!panel) return;
    await panel.context.ready;
    const nb = panel.content;
    if (loc.cell > nb.widgets.length) { Notification.warning(`${path} has fewer cells than when ${run.model}:${run.version} was saved.`, { autoClose: 8000 }); return; }
    nb.activeCellIndex = loc.cell - 1;
    nb.mode = 'command';
    await nb.scrollToItem(loc.cell - 1, 'center').catch(() => undefined);
    nb.activeCell?.editor?.setCursorPosition({ line: loc.line - 1, column: 0 });
    Notification.info(`${run.id}: ${loc.notebook}, cell ${loc.cell}, line ${loc.line}`, { autoClose: 5000 });
  } catch (err) {
    Notification.error(`Cannot open ${framePath}:${line}: ${describeError(err, 'the file').detail}`, { autoClose: 8000 });
  }
}
