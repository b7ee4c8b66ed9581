/** /v1/models and /v1/models/:model/versions[/:version] */
import Type from 'typebox';
import { CreateModel, Model, ModelList, ModelName, PageQuery, Version, VersionFileList, VersionLabel, VersionList, ErrorBody } from '@trainyard/shared';
import type { TypedApp } from '../http-types';
import type { AppContext } from '../context';
import { conflict, notFound } from '../errors';
import { ensureModel, getModel, getVersion, listModels, listVersions, modelExists } from './store';
import { listVersionFiles, readVersionFile } from './version-files';

export function registerModelRoutes(app: TypedApp, ctx: AppContext): void {
  const { db } = ctx;
  app.get('/v1/models', { schema: { tags: ['models'], querystring: PageQuery, response: { 200: ModelList, 400: ErrorBody } } }, async (req) =>
    listModels(db, { limit: req.query.limit ?? 100, cursor: req.query.cursor }));

  app.post('/v1/models', { schema: { tags: ['models'], body: CreateModel, response: { 201: Model, 409: ErrorBody } } }, async (req, reply) => {
    if (await modelExists(db, req.body.name)) throw conflict(`model "${req.body.name}" already exists`);
    await ensureModel(db, req.body.name, req.caller.user, req.body);
    return reply.status(201).send((await getModel(db, req.body.name))!);
  });

  const ModelParams = Type.Object({ model: ModelName });
  app.get('/v1/models/:model', { schema: { tags: ['models'], params: ModelParams, response: { 200: Model, 404: ErrorBody } } }, async (req) => {
    const m = await getModel(db, req.params.model);
    if (!m) throw notFound(`no model "${req.params.model}"; \`trainyard models\` lists them`);
    return m;
  });

  app.get('/v1/models/:model/versions', { schema: { tags: ['models'], params: ModelParams, querystring: PageQuery, response: { 200: VersionList, 400: ErrorBody, 404: ErrorBody } } }, async (req) => {
    if (!(await modelExists(db, req.params.model))) throw notFound(`no model "${req.params.model}"`);
    return listVersions(db, req.params.model, { limit: req.query.limit ?? 100, cursor: req.query.cursor });
  });

  const VersionParams = Type.Object({ model: ModelName, version: VersionLabel });
  const versionOr404 = async (p: { model: string; version: string }) => {
    const v = await getVersion(db, p.model, p.version);
    if (!v) throw notFound(`model "${p.model}" has no version "${p.version}"`);
    return v;
  };
  app.get('/v1/models/:model/versions/:version', { schema: { tags: ['models'], params: VersionParams, response: { 200: Version, 404: ErrorBody } } }, async (req) =>
    versionOr404(req.params));

  // a version's own files, read from its image's code layer (editors diff them against the workspace)
  app.get('/v1/models/:model/versions/:version/files', { schema: { tags: ['models'], params: VersionParams, response: { 200: VersionFileList, 404: ErrorBody } } }, async (req) => ({
    items: await listVersionFiles(ctx.images, await versionOr404(req.params)),
  }));
  app.get(
    '/v1/models/:model/versions/:version/files/*',
    { schema: { tags: ['models'], params: Type.Object({ model: ModelName, version: VersionLabel, '*': Type.String() }), response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }), 400: ErrorBody, 404: ErrorBody } } },
    async (req, reply) => {
      const data = await readVersionFile(ctx.images, await versionOr404(req.params), req.params['*']);
      return reply.type('application/octet-stream').header('Cache-Control', 'private, max-age=31536000, immutable').send(data);
    },
  );
}
