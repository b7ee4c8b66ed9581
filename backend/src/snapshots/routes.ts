/** /v1/snapshots, /v1/blobs/:sha256, /v1/snapshots/:id/build, /v1/base-images/inspect: thin HTTP over SnapshotsService. */
import { Readable } from 'node:stream';
import Type from 'typebox';
import { BaseImageInfo, BuildQuery, CreateSnapshotRequest, ErrorBody, Id, InspectBaseImage, LocalFiles, Sha256, Snapshot, Version } from '@trainyard/shared';
import type { TypedApp, Services } from '../http-types';
import type { AppContext } from '../context';
import { HttpError } from '../errors';

/** the one route that takes a raw body (server.ts hands it the request stream) */
export const BLOB_ROUTE = '/v1/blobs/:sha256';

const BlobAnswer = Type.Object({ sha256: Sha256, size: Type.Integer() });
const SnapshotParams = Type.Object({ id: Id });

export function registerSnapshotRoutes(app: TypedApp, _ctx: AppContext, services: Pick<Services, 'snapshots'>): void {
  const svc = services.snapshots;

  app.post(
    '/v1/snapshots',
    {
      schema: {
        tags: ['snapshots'],
        description:
          'stores a manifest and answers which file blobs to upload (`missing`); a backend on loopback verifies the files `localFiles` names in place (while it reads the base image) and leaves those out. 409 with details.environmentUnknown: this backend does not have the environment `environmentDigest` names (send `environment` itself)',
        body: CreateSnapshotRequest,
        response: { 201: Snapshot, 400: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => reply.status(201).send(await svc.create(req.body, req.caller.user)),
  );

  app.post(
    '/v1/base-images/inspect',
    {
      schema: {
        tags: ['snapshots'],
        description: 'resolves a base image and reads what Python it has (remembered by its layers); a save asks this first so the base is read while the client hashes',
        body: InspectBaseImage,
        response: { 200: BaseImageInfo, 400: ErrorBody },
      },
    },
    async (req) => svc.inspectBase(req.body.baseImage),
  );

  app.get('/v1/snapshots/:id', { schema: { tags: ['snapshots'], params: SnapshotParams, response: { 200: Snapshot, 404: ErrorBody } } }, async (req) =>
    svc.get(req.params.id),
  );

  app.put(
    BLOB_ROUTE,
    {
      schema: {
        tags: ['snapshots'],
        description: 'upload one workspace file (Content-Type: application/octet-stream); the body must hash to :sha256',
        params: Type.Object({ sha256: Sha256 }),
        response: { 200: BlobAnswer, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody },
      },
    },
    async (req) => {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/octet-stream') {
        throw new HttpError('unsupported_media_type', `send the blob's bytes with Content-Type: application/octet-stream (got ${type || 'none'})`);
      }
      const body = req.body instanceof Readable ? req.body : Buffer.alloc(0); // no body: an empty file
      const declared = Number(req.headers['content-length']);
      return svc.putBlob(req.params.sha256, body, Number.isFinite(declared) ? declared : undefined);
    },
  );

  app.post(
    '/v1/snapshots/:id/local-files',
    {
      schema: {
        tags: ['snapshots'],
        description: 'the local fast path, on a backend listening on loopback only: the build reads these files in place when they hash to their sha256; answers what is still missing (upload that)',
        params: SnapshotParams,
        body: LocalFiles,
        response: { 200: Snapshot, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req) => svc.useLocalFiles(req.params.id, req.body.files),
  );

  // a build's answer that waits (?wait) is given at once, still building, when the server closes
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  app.post(
    '/v1/snapshots/:id/build',
    {
      schema: {
        tags: ['snapshots'],
        description:
          'starts the build and answers 202 with the snapshot (building); follow it with GET /v1/snapshots/:id or `snapshot` events until built (then read the version) or failed (error, errorCode). With ?wait=N the answer waits up to N seconds for the build to end: 200 with the snapshot built or failed, else 202. 200: already built. 409: files still missing.',
        params: SnapshotParams,
        querystring: BuildQuery,
        response: { 200: Snapshot, 202: Snapshot, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const snap = await svc.startBuild(req.params.id, { waitMs: (req.query.wait ?? 0) * 1000, signal: closing.signal });
      return reply.status(snap.status === 'built' || snap.status === 'failed' ? 200 : 202).send(snap);
    },
  );
}
