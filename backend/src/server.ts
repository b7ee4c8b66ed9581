/**
 * The HTTP layer: Fastify with the shared TypeBox schemas as validators and
 * as the source of /openapi.json. It stays thin: auth, error mapping, and
 * each feature folder's routes, which call services that know nothing of HTTP.
 */
import Fastify, { type FastifyError } from 'fastify';
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from './context';
import { VERSION } from './version';
import { HttpError } from './errors';
import { completeDocument } from './openapi';
import { storeTimeout } from './store/db';
import { installAuth } from './auth/hook';
import { registerAuthRoutes } from './auth/routes';
import { registerModelRoutes } from './models/routes';
import { ARTIFACT_BLOB_ROUTE, registerArtifactRoutes } from './artifacts/routes';
import { BLOB_ROUTE, registerSnapshotRoutes } from './snapshots/routes';
import { registerHardwareRoutes } from './hardware/routes';
import { registerRunRoutes } from './runs/routes';
import { registerScheduleRoutes } from './schedules/routes';
import { registerEventRoutes } from './events/routes';
import { registerDashboardRoutes } from './dashboard/routes';
import { registerCostRoutes } from './costs/routes';
import type { Services, TypedApp } from './http-types';

export async function buildServer(ctx: AppContext, services: Services): Promise<TypedApp> {
  // maxParamLength: a long path part (a version file's path) reaches the route's validator, not a bare 414
  const app = Fastify({ logger: false, bodyLimit: ctx.config.server.bodyLimitBytes, routerOptions: { maxParamLength: 4096 } }).withTypeProvider<TypeBoxTypeProvider>();
  const allowed = allowedMethods(app);

  // Bodies are validated exactly as sent (a param "5" stays a string, 5 a number);
  // query strings and path params arrive as text and are coerced to the schema's types.
  const exact = newAjv(false);
  const coercing = newAjv('array');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? exact : coercing).compile(schema));
  app.removeContentTypeParser('text/plain');

  // blobs are raw bytes, handed to their route as the request stream (it hashes and
  // stores them on the fly, within images.maxFileBytes); every other body is JSON
  app.addContentTypeParser('application/octet-stream', (req, payload, done) => {
    if (req.routeOptions.url === BLOB_ROUTE || req.routeOptions.url === ARTIFACT_BLOB_ROUTE) return done(null, payload);
    done(new HttpError('unsupported_media_type', 'only PUT /v1/blobs/:sha256 and PUT /v1/runs/:id/artifact-blobs/:sha256 take application/octet-stream; send Content-Type: application/json'), undefined);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Trainyard API', version: VERSION, description: 'Save models, launch training runs, watch results.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transformObject: (doc) => ('openapiObject' in doc ? completeDocument(doc.openapiObject, [BLOB_ROUTE, ARTIFACT_BLOB_ROUTE]) : doc.swaggerObject),
  });

  installAuth(app, ctx); // bearer tokens -> req.caller; run tokens only where a route opts in

  app.setErrorHandler((err: FastifyError | HttpError, _req, reply) => {
    if (err instanceof HttpError) {
      return reply.status(err.status).send({ error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const where = fe.validationContext ?? 'request';
      const details = fe.validation.map((v) => describeValidation(where, v));
      return reply.status(400).send({ error: { code: 'invalid_request', message: details[0], details } });
    }
    const storeDown = storeTimeout(err);
    if (storeDown) return reply.status(503).send({ error: { code: 'unavailable', message: storeDown } });
    const code = fe.statusCode ?? 500;
    if (code === 413) return reply.status(413).send({ error: { code: 'payload_too_large', message: `request body is larger than the limit of ${ctx.config.server.bodyLimitBytes} bytes` } });
    if (code === 415) return reply.status(415).send({ error: { code: 'unsupported_media_type', message: `${fe.message}; send Content-Type: application/json (or application/octet-stream for blobs)` } });
    if (code >= 400 && code < 500) return reply.status(code).send({ error: { code: 'invalid_request', message: fe.message } });
    console.error('trainyard: internal error', err);
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error; see the server log' } });
  });

  // a known path asked with a method it does not take: 405 with Allow (before any body is parsed;
  // GET /v1/runs/estimate is such a case, though the router would take it as GET /v1/runs/:id)
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0];
    const methods = allowed(path);
    if (methods.length && !methods.includes(req.method)) {
      return reply.status(405).header('allow', methods.join(', ')).send({ error: { code: 'method_not_allowed', message: `${req.method} is not an operation of ${path}; it takes ${methods.join(', ')}` } });
    }
  });

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true, version: VERSION }));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerModelRoutes(app, ctx);
  registerSnapshotRoutes(app, ctx, services);
  registerHardwareRoutes(app, ctx);
  registerRunRoutes(app, ctx, services);
  registerScheduleRoutes(app, ctx, services);
  registerEventRoutes(app, ctx);
  registerDashboardRoutes(app, ctx);
  registerCostRoutes(app, ctx);
  registerArtifactRoutes(app, services);
  registerAuthRoutes(app, ctx);
  return app;
}

/** The methods each registered path answers, for a 405 with Allow instead of a 404 when only the method is wrong. */
function allowedMethods(app: TypedApp): (path: string) => string[] {
  const routes: Array<{ pattern: RegExp; methods: string[] }> = [];
  app.addHook('onRoute', (r) => {
    const pattern = new RegExp(`^${r.url.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+').replace(/\*$/, '.*')}$`);
    routes.push({ pattern, methods: [r.method].flat() });
  });
  // like the router, a path that names a route exactly (/v1/runs/estimate) is not taken as a parameter (/v1/runs/:id)
  const params = (r: { pattern: RegExp }) => (r.pattern.source.match(/\[\^\/\]\+|\.\*/g) ?? []).length;
  return (path) => {
    const matching = routes.filter((r) => r.pattern.test(path));
    const fewest = Math.min(...matching.map(params));
    return [...new Set(matching.filter((r) => params(r) === fewest).flatMap((r) => r.methods))].sort();
  };
}

function newAjv(coerceTypes: false | 'array') {
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes, allErrors: false, verbose: true, strict: false });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

interface AjvError {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
  parentSchema?: { description?: string };
}

/** Turns an ajv error into a sentence that says what to fix. */
function describeValidation(where: string, v: unknown): string {
  const e = v as AjvError;
  const field = `${where}${e.instancePath.replace(/\//g, '.')}`;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${field}: unknown field "${String(e.params.additionalProperty)}"`;
    case 'required':
      return `${field}: missing required field "${String(e.params.missingProperty)}"`;
    case 'pattern':
    case 'format':
      return `${field}: ${e.parentSchema?.description ? `must be ${e.parentSchema.description}` : e.message}`;
    default:
      return `${field} ${e.message ?? 'is invalid'}${e.parentSchema?.description ? ` (${e.parentSchema.description})` : ''}`;
  }
}
