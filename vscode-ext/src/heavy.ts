/**
 * What activate() must not pay for: the HTTP client, the save client, and the schema
 * validator. Bundled apart as dist/heavy.cjs and required on first use (lazy.ts), so the
 * extension's own bundle loads in a few milliseconds.
 */
export { TrainyardClient } from '@trainyard/shared/client';
export { saveWorkspace } from '@trainyard/shared/snapshot/save';
export { WorkspaceError } from '@trainyard/shared/snapshot/collect';
export { readWorkspaceModel, writeWorkspaceModel, MODEL_FILE } from '@trainyard/shared/workspace/model-file';
