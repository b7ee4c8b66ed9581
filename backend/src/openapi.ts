/**
 * What /openapi.json says beyond each route's own schema, added in one place so that every
 * operation tells the whole truth (schemathesis checks it, test/api/schemathesis.test.ts):
 * - the error answers any operation can give: 401 (no valid token), 503 (the store did not
 *   answer in time), 400 where there is input to refuse, 404 where the path names something,
 *   413 and 415 where there is a body;
 * - the raw-byte bodies of the blob routes, which Fastify gets as a stream, not by a schema;
 * - the streamed answers (server-sent events, a followed log as NDJSON), written raw;
 * - links from what creates a thing to what reads, builds or prices it, so a client (and
 *   stateful testing) can follow model -> snapshot -> build -> snapshot (built) -> version -> estimate -> run.
 */
import { ErrorBody } from '@trainyard/shared';

type Json = Record<string, unknown>;
interface Operation extends Json {
  parameters?: Json[];
  requestBody?: Json;
  responses?: Record<string, Json>;
}
interface Document extends Json {
  paths?: Record<string, Record<string, Operation>>;
}

const errorBody = JSON.parse(JSON.stringify(ErrorBody)) as Json;
const error = (description: string): Json => ({ description, content: { 'application/json': { schema: errorBody } } });

const ERRORS: Record<string, { description: string; when: (op: Operation, path: string) => boolean }> = {
  400: { description: 'the request does not match this operation (the message says what to fix)', when: (op) => Boolean(op.parameters?.length || op.requestBody) },
  401: { description: 'no valid bearer token', when: () => true },
  404: { description: 'nothing has that name or id', when: (_op, path) => path.includes('{') },
  413: { description: 'the body is larger than the server accepts', when: (op) => Boolean(op.requestBody) },
  415: { description: 'the body has a content type this operation does not take', when: (op) => Boolean(op.requestBody) },
  503: { description: 'the store did not answer in time; try again', when: () => true },
};

/** Fastify's `/v1/blobs/:sha256` as an OpenAPI path, `/v1/blobs/{sha256}` */
export function openApiPath(route: string): string {
  return route.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{*}');
}

/** answers written to the raw response, so no route schema describes them: [method, path, status, content type, description] */
const STREAMED: Array<[string, string, string, string, string]> = [
  ['get', '/v1/events', '200', 'text/event-stream', 'server-sent events: `event: <kind>` and `data: <JSON>` blocks, until the client leaves'],
  ['get', '/v1/runs/{id}/logs', '200', 'application/x-ndjson', 'with follow=1: one LogLine JSON per line, until the run is final'],
];

interface Link {
  from: [method: string, path: string, status: string];
  name: string;
  to: [method: string, path: string];
  parameters?: Record<string, string>;
  requestBody?: unknown;
}

const LINKS: Link[] = [
  { from: ['post', '/v1/models', '201'], name: 'GetModel', to: ['get', '/v1/models/{model}'], parameters: { model: '$response.body#/name' } },
  { from: ['post', '/v1/models', '201'], name: 'ListVersions', to: ['get', '/v1/models/{model}/versions'], parameters: { model: '$response.body#/name' } },
  { from: ['post', '/v1/snapshots', '201'], name: 'GetSnapshot', to: ['get', '/v1/snapshots/{id}'], parameters: { id: '$response.body#/id' } },
  { from: ['post', '/v1/snapshots', '201'], name: 'BuildSnapshot', to: ['post', '/v1/snapshots/{id}/build'], parameters: { id: '$response.body#/id' } },
  // the build answers 202 with the snapshot (200 once ended: already, or within ?wait); the snapshot, once built, leads to its version
  { from: ['post', '/v1/snapshots/{id}/build', '202'], name: 'FollowBuild', to: ['get', '/v1/snapshots/{id}'], parameters: { id: '$response.body#/id' } },
  {
    from: ['post', '/v1/snapshots/{id}/build', '200'],
    name: 'GetBuiltVersion',
    to: ['get', '/v1/models/{model}/versions/{version}'],
    parameters: { model: '$response.body#/model', version: '$response.body#/version' },
  },
  {
    from: ['get', '/v1/snapshots/{id}', '200'],
    name: 'GetVersion',
    to: ['get', '/v1/models/{model}/versions/{version}'],
    parameters: { model: '$response.body#/model', version: '$response.body#/version' },
  },
  {
    from: ['get', '/v1/snapshots/{id}', '200'],
    name: 'ListVersionFiles',
    to: ['get', '/v1/models/{model}/versions/{version}/files'],
    parameters: { model: '$response.body#/model', version: '$response.body#/version' },
  },
  {
    from: ['get', '/v1/snapshots/{id}', '200'],
    name: 'Estimate',
    to: ['post', '/v1/runs/estimate'],
    requestBody: { model: '$response.body#/model', version: '$response.body#/version', entrypoint: 'train' },
  },
  {
    from: ['get', '/v1/snapshots/{id}', '200'],
    name: 'Launch',
    to: ['post', '/v1/runs'],
    requestBody: { model: '$response.body#/model', version: '$response.body#/version', entrypoint: 'train' },
  },
  ...['', '/cancel', '/logs', '/metrics', '/artifacts'].map(
    (sub): Link => ({
      from: ['post', '/v1/runs', '201'],
      name: `Run${sub.replace('/', '-') || '-get'}`,
      to: [sub === '/cancel' ? 'post' : 'get', `/v1/runs/{id}${sub}`],
      parameters: { id: '$response.body#/runs/0/id' },
    }),
  ),
  { from: ['post', '/v1/schedules', '201'], name: 'DeleteSchedule', to: ['delete', '/v1/schedules/{id}'], parameters: { id: '$response.body#/id' } },
  // a listed file is read by its path
  {
    from: ['get', '/v1/models/{model}/versions/{version}/files', '200'],
    name: 'ReadFile',
    to: ['get', '/v1/models/{model}/versions/{version}/files/{*}'],
    parameters: { model: '$request.path.model', version: '$request.path.version', '*': '$response.body#/items/0/path' },
  },
  { from: ['get', '/v1/runs/{id}/artifacts', '200'], name: 'ReadArtifact', to: ['get', '/v1/runs/{id}/artifacts/{*}'], parameters: { id: '$request.path.id', '*': '$response.body#/files/0/path' } },
  // a page's nextCursor is the cursor of the next
  ...['/v1/runs', '/v1/models', '/v1/schedules'].map((p): Link => ({ from: ['get', p, '200'], name: 'NextPage', to: ['get', p], parameters: { cursor: '$response.body#/nextCursor' } })),
  { from: ['get', '/v1/models/{model}/versions', '200'], name: 'NextPage', to: ['get', '/v1/models/{model}/versions'], parameters: { model: '$request.path.model', cursor: '$response.body#/nextCursor' } },
  { from: ['get', '/v1/runs/{id}/metrics', '200'], name: 'NextPage', to: ['get', '/v1/runs/{id}/metrics'], parameters: { id: '$request.path.id', cursor: '$response.body#/nextCursor' } },
];

/**
 * Completes the generated document (the @fastify/swagger transformObject hook).
 * rawBodyRoutes: the Fastify routes whose PUT body is raw bytes.
 */
export function completeDocument<T>(doc: T, rawBodyRoutes: string[]): T {
  const d = doc as unknown as Document;
  const raw = new Set(rawBodyRoutes.map(openApiPath));
  for (const [path, ops] of Object.entries(d.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      if (method === 'put' && raw.has(path)) {
        op.requestBody = {
          required: true,
          description: 'the blob\'s bytes; their sha256 must be the one in the path',
          content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
        };
      }
      op.responses ??= {};
      for (const [status, e] of Object.entries(ERRORS)) {
        if (!op.responses[status] && e.when(op, path)) op.responses[status] = error(e.description);
      }
    }
  }
  for (const [method, path, status, type, description] of STREAMED) {
    const op = d.paths?.[path]?.[method];
    if (!op) continue;
    const res = (op.responses![status] ??= { description });
    res.content = { ...(res.content as Json | undefined), [type]: { schema: { type: 'string', description } } };
  }
  for (const l of LINKS) {
    const from = d.paths?.[l.from[1]]?.[l.from[0]]?.responses?.[l.from[2]];
    const to = d.paths?.[l.to[1]]?.[l.to[0]];
    if (!from || !to) continue; // a route not registered (yet): no link to it
    const links = ((from.links as Json | undefined) ?? {}) as Json;
    links[l.name] = {
      operationRef: `#/paths/${l.to[1].replace(/~/g, '~0').replace(/\//g, '~1')}/${l.to[0]}`,
      ...(l.parameters ? { parameters: l.parameters } : {}),
      ...(l.requestBody ? { requestBody: l.requestBody } : {}),
    };
    from.links = links;
  }
  return doc;
}
