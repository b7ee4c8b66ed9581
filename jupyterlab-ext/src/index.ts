/**
 * trainyard-jupyterlab: the plugins. One service (ITrainyard: the same-origin client and
 * the ways to open views), the Save Model command (notebook toolbar button declared in
 * schema/plugin.json, palette, file browser context menu on notebooks), the launch panel,
 * Run Results and Sweep Comparison main-area widgets, the runs sidebar (restored by the
 * layout restorer) and the status bar item.
 */
import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { runIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';
import { JupyterClient } from './api';
import { createLaunchWidget } from './launch/widget';
import { createRunWidget, createSweepWidget } from './runs/results';
import { artifactSavers } from './runs/artifacts';
import type { ArtifactSaver } from '../../shared/src/ui/context';
import { createRunsSidebar } from './runs/sidebar';
import { followCurrentModel } from './runs/current-model';
import { saveModel } from './save/command';
import { openSource } from './source/open';
import { createStatusItem } from './status';
import { CommandIDs, ITrainyard } from './tokens';

class Trainyard implements ITrainyard {
  readonly client = new JupyterClient();
  readonly modelChanged: Signal<ITrainyard, string | null> = new Signal<ITrainyard, string | null>(this);
  currentModel: string | null = null;
  private readonly folders = new Map<string, string>();
  docManager: IDocumentManager | null = null;
  savers: ArtifactSaver[] = [];
  constructor(private readonly app: JupyterFrontEnd) {}

  folderOf(model: string): string | null { return this.folders.get(model) ?? null; }
  rememberFolder(model: string, folder: string): void { this.folders.set(model, folder); }
  openSource(runId: string, path: string, line: number): void {
    if (this.docManager) void openSource(this, this.docManager, runId, path, line);
  }

  setCurrentModel(model: string | null): void {
    if (model === this.currentModel) return;
    this.currentModel = model;
    this.modelChanged.emit(model);
  }

  private show(id: string, create: () => MainAreaWidget): void {
    const open = [...this.app.shell.widgets('main')].find((w: Widget) => w.id === id);
    if (open) { this.app.shell.activateById(id); return; }
    const w = create();
    this.app.shell.add(w, 'main');
    this.app.shell.activateById(w.id);
  }

  openLaunch(model?: string): void {
    const w = createLaunchWidget(this, model ?? this.currentModel ?? undefined);
    this.app.shell.add(w, 'main');
    this.app.shell.activateById(w.id);
  }
  openRun(id: string): void { this.show(`trainyard-run-${id}`, () => createRunWidget(this, id)); }
  openSweep(id: string): void { this.show(`trainyard-sweep-${id}`, () => createSweepWidget(this, id)); }
}

const plugin: JupyterFrontEndPlugin<ITrainyard> = {
  id: 'trainyard-jupyterlab:plugin',
  description: 'Trainyard: Save Model, launch panel, runs sidebar, results',
  autoStart: true,
  provides: ITrainyard,
  requires: [INotebookTracker, IDocumentManager],
  optional: [ILayoutRestorer, ICommandPalette, IStatusBar, IDefaultFileBrowser],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, docManager: IDocumentManager, restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null, statusBar: IStatusBar | null, fileBrowser: IDefaultFileBrowser | null): ITrainyard => {
    const ty = new Trainyard(app);
    ty.docManager = docManager;
    // an artifact goes into the folder of the model's notebook, else of the notebook last in use, else the file browser's
    const notebookFolder = () => (tracker.currentWidget ? PathExt.dirname(tracker.currentWidget.context.path) : null);
    ty.savers = artifactSavers({ client: ty.client, contents: docManager.services.contents, folderFor: (run) => ty.folderOf(run.model) ?? notebookFolder() ?? fileBrowser?.model.path ?? '' });
    const deps = { ty, docManager };

    // the sidebar follows the current notebook's remembered model
    followCurrentModel({
      tracker,
      workspace: (path, signal) => ty.client.workspace(path, signal),
      found: (model, folder) => {
        ty.rememberFolder(model, folder);
        ty.setCurrentModel(model);
      },
    });

    app.commands.addCommand(CommandIDs.save, {
      label: 'Save Model',
      caption: 'Save this notebook\'s folder as a new Trainyard version',
      isEnabled: () => tracker.currentWidget !== null,
      execute: (args) => {
        const panel = tracker.currentWidget;
        if (panel) return saveModel(panel, deps, { ask: args.ask === true });
      },
    });
    app.commands.addCommand(CommandIDs.saveFile, {
      label: 'Save Model from this notebook',
      execute: async () => {
        const item = fileBrowser?.selectedItems().next();
        const model = item && !item.done ? item.value : undefined;
        if (!model?.path.endsWith('.ipynb')) return;
        const panel = (await docManager.openOrReveal(model.path)) as NotebookPanel | undefined;
        if (!panel) return;
        await panel.context.ready;
        await panel.sessionContext.ready;
        return saveModel(panel, deps);
      },
    });
    app.commands.addCommand(CommandIDs.saveFolder, {
      label: 'Save Model from this folder',
      execute: async () => {
        const item = fileBrowser?.selectedItems().next();
        const dir = item && !item.done ? item.value : undefined;
        if (dir?.type !== 'directory') return;
        const listing = await docManager.services.contents.get(dir.path, { content: true });
        const notebooks = ((listing.content ?? []) as Array<{ type: string; path: string; name: string }>).filter((m) => m.type === 'notebook').sort((a, b) => a.name.localeCompare(b.name));
        if (!notebooks.length) {
          Notification.warning(`${dir.path || 'This folder'} has no notebook; Save Model from a notebook (it becomes the train entrypoint), or run \`trainyard save\` in a terminal.`, { autoClose: 8000 });
          return;
        }
        const panel = docManager.openOrReveal(notebooks[0].path) as NotebookPanel | undefined;
        if (!panel) return;
        await panel.context.ready;
        await panel.sessionContext.ready;
        return saveModel(panel, deps);
      },
    });
    app.commands.addCommand(CommandIDs.saveAsk, {
      label: 'Save Model (change model, entrypoints, base image)',
      isEnabled: () => tracker.currentWidget !== null,
      execute: () => { const p = tracker.currentWidget; if (p) return saveModel(p, deps, { ask: true }); },
    });
    app.commands.addCommand(CommandIDs.launch, { label: 'Launch training…', execute: (args) => ty.openLaunch(typeof args.model === 'string' ? args.model : undefined) });
    app.commands.addCommand(CommandIDs.openRun, { label: 'Open Trainyard run', execute: (args) => ty.openRun(String(args.id)) });
    app.commands.addCommand(CommandIDs.openSweep, { label: 'Open Trainyard sweep', execute: (args) => ty.openSweep(String(args.id)) });

    const sidebar = createRunsSidebar(ty);
    sidebar.title.icon = runIcon;
    app.shell.add(sidebar, 'right', { rank: 600 });
    restorer?.add(sidebar, 'trainyard-runs');
    app.commands.addCommand(CommandIDs.showRuns, { label: 'Show Trainyard runs', execute: () => app.shell.activateById(sidebar.id) });

    for (const command of [CommandIDs.save, CommandIDs.saveAsk, CommandIDs.launch, CommandIDs.showRuns]) palette?.addItem({ command, category: 'Trainyard' });
    statusBar?.registerStatusItem('trainyard-jupyterlab:status', {
      item: createStatusItem(ty, () => app.shell.activateById(sidebar.id)),
      align: 'left',
      rank: 50,
    });
    return ty;
  },
};

export default [plugin];
