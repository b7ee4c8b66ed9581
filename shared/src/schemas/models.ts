/** Models and their immutable versions. */
import Type from 'typebox';
import { EntrypointName, ModelName, Page, Timestamp, VersionLabel } from './common';

// propertyNames repeats the key rule where OpenAPI readers see it (the document turns patternProperties into additionalProperties)
export const Entrypoints = Type.Record(EntrypointName, Type.String({ minLength: 1, maxLength: 4096 }), {
  propertyNames: EntrypointName,
  required: ['train'],
  minProperties: 1,
  maxProperties: 32,
  additionalProperties: false,
  description: 'entrypoint name -> shell command run in the code directory; "train" is required',
});

export const CreateModel = Type.Object(
  {
    name: ModelName,
    team: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export const Model = Type.Object({
  name: ModelName,
  team: Type.Union([Type.String(), Type.Null()]),
  description: Type.Union([Type.String(), Type.Null()]),
  createdBy: Type.String(),
  createdAt: Timestamp,
  latestVersion: Type.Union([VersionLabel, Type.Null()]),
  versionCount: Type.Integer(),
  runCount: Type.Integer(),
});
/** a page of models, by name */
export const ModelList = Page(Model);

export const GitState = Type.Object(
  {
    sha: Type.Union([Type.String({ pattern: '^[0-9a-f]{7,64}$' }), Type.Null()]),
    dirty: Type.Boolean(),
    branch: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  },
  { additionalProperties: false },
);

export const Version = Type.Object({
  model: ModelName,
  label: VersionLabel,
  imageRef: Type.String({ description: 'where the image is stored, e.g. oci-layout:/home/u/.trainyard/images:eta-correction_abc123' }),
  digest: Type.String({ pattern: '^sha256:[a-f0-9]{64}$' }),
  baseImage: Type.Union([Type.String(), Type.Null()]),
  baseDigest: Type.Union([Type.String(), Type.Null()]),
  entrypoints: Entrypoints,
  git: GitState,
  sizeBytes: Type.Integer(),
  fileCount: Type.Integer(),
  createdBy: Type.String(),
  createdAt: Timestamp,
});
/** a page of a model's versions, newest first */
export const VersionList = Page(Version);

export type CreateModel = Type.Static<typeof CreateModel>;
export type Model = Type.Static<typeof Model>;
export type Version = Type.Static<typeof Version>;
export type Entrypoints = Type.Static<typeof Entrypoints>;
export type GitState = Type.Static<typeof GitState>;

/** a file of a version's code (under /app in its image), as GET /v1/models/:m/versions/:v/files lists it */
export const VersionFile = Type.Object({
  path: Type.String({ description: 'workspace-relative path, "/"-separated' }),
  size: Type.Integer(),
  mode: Type.Integer({ description: 'permission bits, e.g. 420 (0644)' }),
});
export const VersionFileList = Type.Object({ items: Type.Array(VersionFile) });
export type VersionFile = Type.Static<typeof VersionFile>;
