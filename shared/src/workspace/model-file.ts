/**
 * Read and write a workspace's `.trainyard/model.json` (schema: schemas/workspace-model.ts).
 * Node-only. A missing file is `null`; a file that is not valid JSON or does not match the
 * schema is an error that names the file and the field to fix, never silently ignored.
 * Writes go to a temp file renamed into place, so a crash never leaves half a file.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeAtomic } from '../write-atomic';
import { join } from 'node:path';
import Value from 'typebox/value';
import { WorkspaceModel } from '../schemas/workspace-model';
import { WorkspaceError } from '../snapshot/collect';

export const MODEL_FILE = '.trainyard/model.json';

export function modelFilePath(dir: string): string {
  return join(dir, MODEL_FILE);
}

/** Checks a parsed value against the schema; the error names the first bad field. */
export function parseWorkspaceModel(value: unknown, where = MODEL_FILE): WorkspaceModel {
  if (Value.Check(WorkspaceModel, value)) return value;
  const first = [...Value.Errors(WorkspaceModel, value)][0];
  const path = first ? (first.instancePath || '/').replace(/^\//, '').replace(/\//g, '.') || '(top level)' : '(top level)';
  throw new WorkspaceError(`${where}: ${path}: ${first?.message ?? 'does not match the expected form'}; fix or delete the file`);
}

export async function readWorkspaceModel(dir: string): Promise<WorkspaceModel | null> {
  const file = modelFilePath(dir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new WorkspaceError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new WorkspaceError(`${file} is not valid JSON (${(err as Error).message}); fix or delete the file`);
  }
  return parseWorkspaceModel(value, file);
}

export async function writeWorkspaceModel(dir: string, model: WorkspaceModel): Promise<void> {
  const clean = parseWorkspaceModel(model);
  const file = modelFilePath(dir);
  await mkdir(join(dir, '.trainyard'), { recursive: true });
  await writeAtomic(file, `${JSON.stringify(clean, null, 2)}\n`);
}
