/**
 * Run artifacts: the files a run left under TRAINYARD_OUTPUT_DIR, kept after it ends as an OCI
 * artifact (artifactType ARTIFACT_TYPE, one layer per file titled with its path) tagged
 * `<model>:run-<runId>` in the same image store as the versions.
 */
import Type from 'typebox';
import { Id, Sha256 } from './common';

export const ARTIFACT_TYPE = 'application/vnd.trainyard.run-output.v1';
export const ARTIFACT_FILE_MEDIA_TYPE = 'application/octet-stream';

/** a run-relative path: "/"-separated, no "", "." or ".." segment, no leading "/" */
export const ArtifactPath = Type.String({ minLength: 1, maxLength: 1024, description: 'path under the output directory, "/"-separated' });

export const ArtifactFile = Type.Object({
  path: ArtifactPath,
  size: Type.Integer({ minimum: 0 }),
  sha256: Sha256,
});

export const ArtifactState = Type.Union(
  [Type.Literal('pending'), Type.Literal('stored'), Type.Literal('none'), Type.Literal('failed'), Type.Literal('expired')],
  {
    description:
      'pending: the run has not ended or its files are being kept; stored: files are listed; none: the run left no files; failed: they could not be kept (see note); expired: removed by retention (see note)',
  },
);

export const ArtifactList = Type.Object({
  runId: Id,
  state: ArtifactState,
  /** where the OCI artifact is, e.g. "oci-layout:/home/u/.trainyard/images:eta:run-r_abc" or "127.0.0.1:5000/team/eta:run-r_abc" */
  ref: Type.Union([Type.String(), Type.Null()]),
  /** the artifact manifest's digest */
  digest: Type.Union([Type.String(), Type.Null()]),
  files: Type.Array(ArtifactFile),
  totalBytes: Type.Integer({ minimum: 0 }),
  /** what was dropped and why (a limit, a symlink leaving the directory, a bad name), or why nothing was kept */
  note: Type.Union([Type.String(), Type.Null()]),
});

/** what a run's own code reports when it pushes its outputs (a Kubernetes pod's finish step) */
export const ArtifactReport = Type.Object(
  {
    files: Type.Array(ArtifactFile, { maxItems: 100000, description: 'every output file, sorted by path; the backend keeps those within the limits' }),
    dropped: Type.Optional(Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 1000, description: 'what the pod left out and why (a symlink out of the directory, a bad name)' })),
  },
  { additionalProperties: false },
);

export type ArtifactFile = Type.Static<typeof ArtifactFile>;
export type ArtifactReport = Type.Static<typeof ArtifactReport>;
export type ArtifactState = Type.Static<typeof ArtifactState>;
export type ArtifactList = Type.Static<typeof ArtifactList>;

// the rule lives where the API client can use it without loading TypeBox
export { isArtifactPath } from '../artifact-path';
