/**
 * The Save Model protocol: the client sends a snapshot manifest, the backend
 * answers which blobs it lacks, the client uploads those, then asks for a build.
 */
import Type from 'typebox';
import { Entrypoints, GitState } from './models';
import { Id, ModelName, Sha256, Timestamp, VersionLabel } from './common';

export const SnapshotFile = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      maxLength: 1024,
      // relative, forward slashes, no "." or ".." segments, no leading slash
      pattern: '^(?!/)(?!.*(^|/)\\.\\.?(/|$))[^\\x00\\\\]+$',
      description: 'workspace-relative path with "/" separators, no ".." or absolute paths',
    }),
    sha256: Sha256,
    size: Type.Integer({ minimum: 0 }),
    mode: Type.Integer({ minimum: 0, maximum: 0o7777, description: 'permission bits, e.g. 420 (0644) or 493 (0755)' }),
  },
  { additionalProperties: false },
);

export const CreateSnapshot = Type.Object(
  {
    model: ModelName,
    version: Type.Optional(VersionLabel),
    baseImage: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    files: Type.Array(SnapshotFile, { maxItems: 100000 }),
    entrypoints: Entrypoints,
    git: Type.Optional(GitState),
  },
  { additionalProperties: false },
);

export const SnapshotStatus = Type.Union([
  Type.Literal('uploading'),
  Type.Literal('building'),
  Type.Literal('built'),
  Type.Literal('failed'),
]);
export const Snapshot = Type.Object({
  id: Id,
  model: ModelName,
  version: Type.Union([VersionLabel, Type.Null()]),
  status: SnapshotStatus,
  missing: Type.Array(Sha256),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
});

export type SnapshotFile = Type.Static<typeof SnapshotFile>;
export type CreateSnapshot = Type.Static<typeof CreateSnapshot>;
export type Snapshot = Type.Static<typeof Snapshot>;
export type SnapshotStatus = Type.Static<typeof SnapshotStatus>;
