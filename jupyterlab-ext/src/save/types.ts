/** The messages of the server-side save client (src-node/save-cli.ts), as the browser reads them. */
import type { Version } from '../../../shared/src/schemas/models';
import type { WorkspaceModel } from '../../../shared/src/schemas/workspace-model';
import type { SecretHit } from '../../../shared/src/snapshot/collect';

export interface SaveRequest {
  notebook: string;
  model?: string;
  entrypoints?: Record<string, string>;
  baseImage?: string;
  selfTest?: string;
  python?: string;
  remember?: boolean;
}

export interface WorkspacePreview {
  type: 'workspace';
  dir: string;
  notebook: string;
  remembered: WorkspaceModel | null;
  rememberedError?: string;
  files?: string[];
  totalBytes?: number;
  warnings?: string[];
  refused?: SecretHit[];
  error?: string;
}

export type SaveEvent =
  | { type: 'progress'; message: string }
  | { type: 'refused'; message: string; secrets: SecretHit[] }
  | { type: 'error'; message: string; code?: string; status?: number }
  | { type: 'result'; version: Version; uploadedFiles: number; localFiles: number; totalFiles: number; durationMs: number; remembered: WorkspaceModel }
  | WorkspacePreview;
