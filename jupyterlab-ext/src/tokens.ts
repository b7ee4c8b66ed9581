/** The one service the Trainyard plugins share: the client and the ways to open each view. */
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';
import type { JupyterClient } from './api';
import type { ArtifactSaver } from '../../shared/src/ui/context';

export type ConnectionState = 'connecting' | 'live' | 'down';

export interface ITrainyard {
  readonly client: JupyterClient;
  /** the model of the notebook last saved or opened with a remembered .trainyard/model.json */
  readonly currentModel: string | null;
  setCurrentModel(model: string | null): void;
  readonly modelChanged: ISignal<ITrainyard, string | null>;
  openLaunch(model?: string): void;
  openRun(id: string): void;
  /** a traceback frame of a run: the workspace file, or the notebook cell for a generated script */
  openSource(runId: string, path: string, line: number): void;
  /** the Jupyter contents path of the folder holding a model (learned from its notebooks' .trainyard/model.json) */
  folderOf(model: string): string | null;
  rememberFolder(model: string, folder: string): void;
  openSweep(id: string): void;
  /** how Run Results keeps an artifact file: into the notebook's folder, or the browser's downloads */
  readonly savers: ArtifactSaver[];
}

export const ITrainyard = new Token<ITrainyard>('trainyard-jupyterlab:ITrainyard', 'Trainyard client and views');

export const CommandIDs = {
  save: 'trainyard:save-model',
  saveAsk: 'trainyard:save-model-ask',
  saveFile: 'trainyard:save-model-file',
  saveFolder: 'trainyard:save-model-folder',
  launch: 'trainyard:launch',
  openRun: 'trainyard:open-run',
  openSweep: 'trainyard:open-sweep',
  showRuns: 'trainyard:show-runs',
} as const;
