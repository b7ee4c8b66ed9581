/**
 * The model of the notebook in use: the runs sidebar and the launch panel follow it. It is the
 * model remembered in the notebook's workspace (.trainyard/model.json, read by the server's
 * save client), asked for each time another notebook becomes current.
 *
 * Only the answer for the notebook that is current when it arrives is taken; when the current
 * notebook changed while the question was out (JupyterLab opens a tree URL's notebook late, and
 * may activate it again), the notebook current now is asked about instead, so the sidebar never
 * stays on a notebook that was left. A failed question (the Jupyter server busy, a spawn that
 * timed out) or one left unanswered for `answerMs` is asked again, with a growing pause, a few
 * times while that notebook stays current. A notebook with no remembered model keeps the model
 * shown before.
 */
import { PathExt } from '@jupyterlab/coreutils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { WorkspacePreview } from '../save/types';

export interface CurrentModelDeps {
  tracker: INotebookTracker;
  workspace(notebookPath: string, signal: AbortSignal): Promise<WorkspacePreview>;
  /** the notebook's remembered model and its folder */
  found(model: string, folder: string): void;
  /** the first pause before a question is asked again; it doubles, up to 15 s */
  retryMs?: number;
  attempts?: number;
  /** a question unanswered this long is given up and asked again */
  answerMs?: number;
}

export function followCurrentModel({ tracker, workspace, found, retryMs = 2000, attempts = 6, answerMs = 20000 }: CurrentModelDeps): () => void {
  let asking: NotebookPanel | null = null;
  /** the notebook whose answer is the one shown */
  let shown: NotebookPanel | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ask = (panel: NotebookPanel, attempt: number): void => {
    asking = panel;
    void panel.context.ready.then(() => {
      const ac = new AbortController();
      const late = setTimeout(() => ac.abort(), answerMs);
      return workspace(panel.context.path, ac.signal).finally(() => clearTimeout(late));
    }).then(
      (p) => {
        if (asking === panel) asking = null;
        if (tracker.currentWidget !== panel) return follow();
        shown = panel;
        if (p.remembered) found(p.remembered.model, PathExt.dirname(panel.context.path));
      },
      () => {
        if (asking === panel) asking = null;
        if (tracker.currentWidget !== panel) return follow();
        if (attempt + 1 < attempts && !panel.isDisposed) {
          timer = setTimeout(() => { if (tracker.currentWidget === panel && !asking) ask(panel, attempt + 1); }, Math.min(15000, retryMs * 2 ** attempt));
        }
      },
    );
  };
  const follow = (): void => {
    const panel = tracker.currentWidget;
    if (!panel || asking === panel || shown === panel) return;
    clearTimeout(timer);
    ask(panel, 0);
  };
  tracker.currentChanged.connect(follow);
  follow();
  return () => {
    clearTimeout(timer);
    tracker.currentChanged.disconnect(follow);
  };
}
