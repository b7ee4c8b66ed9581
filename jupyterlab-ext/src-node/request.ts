/**
 * The save request from the server extension, checked here (not in Python): the
 * answers are the request's fields, else the remembered .trainyard/model.json, and
 * must match the shared WorkspaceModel schema (model name pattern, entrypoints...).
 * inspectWorkspace is the dialog's preview: remembered answers, files kept, secrets refused.
 */
import { collectManifest, WorkspaceError } from '../../shared/src/snapshot/collect';
import { parseWorkspaceModel, readWorkspaceModel } from '../../shared/src/workspace/model-file';
import type { WorkspaceModel } from '../../shared/src/schemas/workspace-model';
import type { WorkspacePreview as BrowserPreview } from '../src/save/types';

export interface SaveCliRequest {
  mode: 'save' | 'inspect';
  dir: string;
  notebook: string;
  model?: string;
  entrypoints?: Record<string, string>;
  baseImage?: string;
  selfTest?: string;
  strategy?: 'copy' | 'install';
  python?: string;
  version?: string;
  remember?: boolean;
}

const blankToUndefined = (s: string | undefined) => (typeof s === 'string' && s.trim() ? s.trim() : undefined);

export async function resolveAnswers(req: SaveCliRequest): Promise<WorkspaceModel> {
  const remembered = await readWorkspaceModel(req.dir);
  const model = blankToUndefined(req.model) ?? remembered?.model;
  if (!model) throw new WorkspaceError('no model name: choose or type one (lowercase letters, digits and "-", e.g. eta-correction)');
  const entrypoints = req.entrypoints ?? remembered?.entrypoints ?? { train: req.notebook };
  const answers: Record<string, unknown> = { model, entrypoints };
  const base = 'baseImage' in req ? blankToUndefined(req.baseImage) : remembered?.baseImage;
  const selfTest = 'selfTest' in req ? blankToUndefined(req.selfTest) : remembered?.selfTest;
  const strategy = req.strategy ?? remembered?.strategy;
  if (base) answers.baseImage = base;
  if (selfTest) answers.selfTest = selfTest;
  if (strategy) answers.strategy = strategy;
  return parseWorkspaceModel(answers, 'the Save Model answers');
}

/** the preview the browser reads (src/save/types.ts), without its message type */
export type WorkspacePreview = Omit<BrowserPreview, 'type'>;

export async function inspectWorkspace(req: SaveCliRequest): Promise<WorkspacePreview> {
  const out: WorkspacePreview = { dir: req.dir, notebook: req.notebook, remembered: null };
  try {
    out.remembered = await readWorkspaceModel(req.dir);
  } catch (err) {
    out.rememberedError = (err as Error).message;
  }
  try {
    const m = await collectManifest(req.dir, { git: false });
    out.files = m.files.map((f) => f.path);
    out.totalBytes = m.totalBytes;
    out.warnings = m.warnings;
  } catch (err) {
    if (err instanceof WorkspaceError && err.secrets) out.refused = err.secrets;
    out.error = (err as Error).message;
  }
  return out;
}
