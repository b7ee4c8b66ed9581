/**
 * `.trainyard/model.json`: the answers of a workspace's first Save Model (model, entrypoints,
 * base image, self-test), kept in the workspace so VS Code, JupyterLab and `trainyard save`
 * share one answer. Flags and dialogs win over it; it is rewritten after a successful save.
 */
import Type from 'typebox';
import { ModelName } from './common';
import { Entrypoints } from './models';

export const WorkspaceModel = Type.Object(
  {
    model: ModelName,
    entrypoints: Type.Optional(Entrypoints),
    baseImage: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    selfTest: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    strategy: Type.Optional(Type.Union([Type.Literal('copy'), Type.Literal('install')])),
  },
  { additionalProperties: false },
);
export type WorkspaceModel = Type.Static<typeof WorkspaceModel>;
