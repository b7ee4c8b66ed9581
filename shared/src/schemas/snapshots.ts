/**
 * The Save Model protocol: the client sends a snapshot manifest, the backend
 * answers which blobs it lacks, the client uploads those, then asks for a build.
 */
import Type from 'typebox';
import { Entrypoints, GitState } from './models';
import { Id, ModelName, Sha256, Timestamp, VersionLabel, ErrorCode } from './common';
import { MAX_IN_PLACE_FILES } from '../snapshot/in-place';

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

/** a file of an installed distribution, relative to its site directory (site-packages) */
export const EnvironmentFile = Type.Object(
  {
    path: SnapshotFile.properties.path,
    sha256: Sha256,
    size: Type.Integer({ minimum: 0 }),
    mode: Type.Integer({ minimum: 0, maximum: 0o7777 }),
  },
  { additionalProperties: false },
);

export const Distribution = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    version: Type.String({ minLength: 1, maxLength: 200 }),
    /** present when the dependency strategy is copy: the installed files (from RECORD) */
    files: Type.Optional(Type.Array(EnvironmentFile, { maxItems: 100000 })),
  },
  { additionalProperties: false },
);

export const DependencyStrategy = Type.Union([Type.Literal('copy'), Type.Literal('install')]);

/** the workspace's Python environment, as the client captured it */
export const SnapshotEnvironment = Type.Object(
  {
    python: Type.String({ minLength: 1, maxLength: 64, description: 'e.g. 3.11.7' }),
    implementation: Type.String({ minLength: 1, maxLength: 64, description: 'e.g. cpython' }),
    platform: Type.String({ minLength: 1, maxLength: 64, description: 'sys.platform, e.g. linux' }),
    machine: Type.String({ maxLength: 64, description: 'e.g. x86_64' }),
    abi: Type.String({ maxLength: 128, description: 'sysconfig SOABI, e.g. cpython-311-x86_64-linux-gnu' }),
    strategy: Type.Optional(DependencyStrategy),
    distributions: Type.Array(Distribution, { maxItems: 20000 }),
  },
  { additionalProperties: false },
);

/** a base image reference: an OCI layout (oci-layout:<dir>[:<ref>]) or a registry image (host[:port]/repo[:tag|@digest]) */
export const BaseImageRef = Type.String({ minLength: 1, maxLength: 512 });

export const CreateSnapshot = Type.Object(
  {
    model: ModelName,
    version: Type.Optional(VersionLabel),
    baseImage: Type.Optional(BaseImageRef),
    files: Type.Array(SnapshotFile, { maxItems: 100000 }),
    entrypoints: Entrypoints,
    git: Type.Optional(GitState),
    environment: Type.Optional(SnapshotEnvironment),
    selfTest: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'a smoke command run (sh -c, in /app) inside the new image before the version is recorded; a non-zero exit leaves no version',
      }),
    ),
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
  /** with status failed: the kind of failure (invalid_request: the workspace, e.g. a self-test; conflict; internal) */
  errorCode: Type.Optional(Type.Union([ErrorCode, Type.Null()])),
  createdAt: Timestamp,
  /** in `snapshot` events while building: the step the build is at, e.g. "pushing the image" */
  progress: Type.Optional(Type.String()),
  /**
   * the backend shares this machine's file system (it listens on loopback): instead of uploading
   * the missing files, send their absolute paths with POST /v1/snapshots/:id/local-files
   */
  localFiles: Type.Optional(Type.Boolean()),
  /** with localFiles: how many of the blobs the build needs it reads in place (the rest are staged or missing) */
  inPlace: Type.Optional(Type.Integer({ minimum: 0 })),
});

/** where files are on the backend's machine: each is taken only if it hashes to its sha256 */
const InPlaceFiles = Type.Array(
  Type.Object({ sha256: Sha256, path: Type.String({ minLength: 2, maxLength: 4096, pattern: '^/[^\\x00]*$', description: 'absolute path' }) }, { additionalProperties: false }),
  { maxItems: MAX_IN_PLACE_FILES },
);

/** POST /v1/snapshots/:id/local-files: where missing files are on the backend's machine (each is taken only if it hashes to its sha256) */
export const LocalFiles = Type.Object({ files: InPlaceFiles }, { additionalProperties: false });

/** POST /v1/snapshots/:id/build?wait=N: the answer waits up to N seconds for the build to end */
export const BuildQuery = Type.Object(
  {
    wait: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 60,
        description: 'seconds to wait for the build to end before answering (default 0: answer at once); ended: 200 with the snapshot built or failed, else 202 building',
      }),
    ),
  },
  { additionalProperties: false },
);
export type BuildQuery = Type.Static<typeof BuildQuery>;

/**
 * POST /v1/snapshots: the manifest (its environment itself, or the digest of one sent before), and (optional) where its files are on this machine. A backend on
 * loopback verifies those in place while it reads the base image, so its answer's `missing` already
 * leaves them out; any other backend ignores them (upload what `missing` lists). The paths are not
 * part of the stored manifest.
 */
export const CreateSnapshotRequest = Type.Object(
  {
    ...CreateSnapshot.properties,
    localFiles: Type.Optional(InPlaceFiles),
    environmentDigest: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{64}$',
        description:
          'instead of `environment`: the sha256 hex of the JSON of an environment sent before (an environment lists every installed file, megabytes for a large one); 409 with details.environmentUnknown when this backend does not have it: send `environment` itself',
      }),
    ),
  },
  { additionalProperties: false },
);

/** POST /v1/base-images/inspect: resolve a base image and read what Python it has (remembered by its layers) */
export const InspectBaseImage = Type.Object({ baseImage: BaseImageRef }, { additionalProperties: false });
export const BaseImageInfo = Type.Object({
  ref: Type.String(),
  /** the manifest digest the reference resolved to */
  digest: Type.String(),
  layers: Type.Integer({ minimum: 0 }),
  /** the base's Python, or null when it has none (a dependency layer cannot be added then) */
  python: Type.Union([
    Type.Object({
      version: Type.String({ description: 'e.g. 3.11' }),
      abi: Type.Union([Type.String({ description: 'e.g. cpython-311-x86_64-linux-gnu' }), Type.Null()]),
      siteDir: Type.String({ description: 'where a dependency layer puts the distributions, e.g. /usr/local/lib/python3.11/dist-packages' }),
    }),
    Type.Null(),
  ]),
  /** installed distributions found in the base (the dependency layer holds only what the environment adds) */
  distributions: Type.Integer({ minimum: 0 }),
});

export type SnapshotFile = Type.Static<typeof SnapshotFile>;
export type EnvironmentFile = Type.Static<typeof EnvironmentFile>;
export type InspectBaseImage = Type.Static<typeof InspectBaseImage>;
export type BaseImageInfo = Type.Static<typeof BaseImageInfo>;
export type CreateSnapshot = Type.Static<typeof CreateSnapshot>;
export type Snapshot = Type.Static<typeof Snapshot>;
export type LocalFiles = Type.Static<typeof LocalFiles>;
export type CreateSnapshotRequest = Type.Static<typeof CreateSnapshotRequest>;
export type SnapshotStatus = Type.Static<typeof SnapshotStatus>;
export type SnapshotEnvironment = Type.Static<typeof SnapshotEnvironment>;
export type Distribution = Type.Static<typeof Distribution>;
export type DependencyStrategy = Type.Static<typeof DependencyStrategy>;
