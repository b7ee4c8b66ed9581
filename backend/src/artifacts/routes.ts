/** /v1/runs/:id/artifacts (the list) and /v1/runs/:id/artifacts/*path (one file, streamed, with ranges) */
import { Readable } from 'node:stream';
import Type from 'typebox';
import { ArtifactList, ArtifactReport, ErrorBody, Id, isArtifactPath, Sha256 } from '@trainyard/shared';
import type { FastifyRequest } from 'fastify';
import type { TypedApp, Services } from '../http-types';
import { HttpError, invalid } from '../errors';

/** the route that takes a blob of a run's outputs as raw bytes (server.ts hands it the request stream) */
export const ARTIFACT_BLOB_ROUTE = '/v1/runs/:id/artifact-blobs/:sha256';

/**
 * only the run itself (its run token, or its schedule's for a fire) or an admin writes a run's
 * artifacts; a run token reaching a runScoped route without runInput acts for :id (auth/hook.ts)
 */
function requireRunOrAdmin(req: FastifyRequest, runId: string): void {
  if (req.caller.admin || (req.caller.kind === 'run' && (req.caller.runId === runId || !!req.caller.scheduleId))) return;
  throw new HttpError('forbidden', `only run ${runId} itself (its run token) or an admin may push its artifacts`);
}

const RunParams = Type.Object({ id: Id });
const Binary = Type.Unsafe<Readable>({ type: 'string', format: 'binary' });

/** a single "bytes=a-b" / "bytes=a-" / "bytes=-n" range over size bytes; null = whole file; 'bad' = unsatisfiable */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'bad';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end || start >= size) return 'bad';
  return { start, end };
}

export function registerArtifactRoutes(app: TypedApp, services: Services): void {
  const { artifacts } = services;

  app.get(
    '/v1/runs/:id/artifacts',
    {
      // a run's token may read its own list, and that of the training run it reads (fromRun)
      config: { runScoped: true, runInput: true },
      schema: { tags: ['runs'], description: 'the files the run left in TRAINYARD_OUTPUT_DIR, kept after it ended', params: RunParams, response: { 200: ArtifactList, 404: ErrorBody } },
    },
    async (req) => artifacts.list(req.params.id),
  );

  app.put(
    ARTIFACT_BLOB_ROUTE,
    {
      config: { runScoped: true },
      schema: {
        tags: ['runs'],
        description: "one blob of the run's outputs, pushed by the run itself (Content-Type: application/octet-stream); the body must hash to :sha256",
        params: Type.Object({ id: Id, sha256: Sha256 }),
        response: { 200: Type.Object({ sha256: Sha256, size: Type.Integer() }), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 415: ErrorBody },
      },
    },
    async (req) => {
      requireRunOrAdmin(req, req.params.id);
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/octet-stream') throw new HttpError('unsupported_media_type', `send the bytes with Content-Type: application/octet-stream (got ${type || 'none'})`);
      const body = req.body instanceof Readable ? req.body : Readable.from([]);
      return artifacts.receiveBlob(req.params.id, req.params.sha256, body);
    },
  );

  app.post(
    '/v1/runs/:id/artifacts',
    {
      config: { runScoped: true },
      schema: {
        tags: ['runs'],
        description: 'the run reports its output files (pushed first as artifact-blobs); those within the limits are kept. 409 lists blobs still missing.',
        params: RunParams,
        body: ArtifactReport,
        response: { 200: ArtifactList, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req) => {
      requireRunOrAdmin(req, req.params.id);
      return artifacts.commit(req.params.id, req.body);
    },
  );

  app.get(
    '/v1/runs/:id/artifacts/*',
    {
      config: { runScoped: true, runInput: true },
      schema: {
        tags: ['runs'],
        description: 'one artifact, streamed; a Range header (one range) is answered 206',
        params: Type.Object({ id: Id, '*': Type.String() }),
        response: { 200: Binary, 206: Binary, 400: ErrorBody, 404: ErrorBody, 416: ErrorBody },
      },
    },
    async (req, reply) => {
      const path = req.params['*'];
      if (!isArtifactPath(path)) throw invalid(`artifact path "${path.slice(0, 200)}" is not a run-relative path (like model/weights.bin: no "..", no leading or doubled "/")`);
      const listed = (await artifacts.list(req.params.id)).files.find((f) => f.path === path);
      const size = listed?.size ?? 0;
      const range = listed ? parseRange(req.headers.range, size) : null;
      if (range === 'bad') {
        reply.header('Content-Range', `bytes */${size}`);
        throw new HttpError('range_not_satisfiable', `range ${JSON.stringify(req.headers.range)} does not fit the ${size} bytes of ${path}; send one range like bytes=0-1023`);
      }
      const { file, stream } = await artifacts.open(req.params.id, path, range ?? undefined);
      const name = path.split('/').pop()!;
      reply
        .type('application/octet-stream')
        .header('Accept-Ranges', 'bytes')
        .header('ETag', `"sha256:${file.sha256}"`)
        .header('Digest', `sha-256=${Buffer.from(file.sha256, 'hex').toString('base64')}`)
        .header('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`)
        .header('Cache-Control', 'private, max-age=31536000, immutable');
      if (range) {
        reply.status(206).header('Content-Range', `bytes ${range.start}-${range.end}/${file.size}`).header('Content-Length', String(range.end - range.start + 1));
      } else {
        reply.header('Content-Length', String(file.size));
      }
      return reply.send(stream);
    },
  );
}
