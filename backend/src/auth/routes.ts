/** /v1/me and /v1/tokens: who am I, and the per-person tokens (made by admins, revoked by their owner or an admin). */
import Type from 'typebox';
import { CreatedToken, CreateToken, ErrorBody, Id, Me, TokenInfo, TokenList } from '@trainyard/shared';
import type { TypedApp } from '../http-types';
import type { AppContext } from '../context';
import { HttpError, notFound } from '../errors';
import { describeCaller, requireAdmin, requireOwnerOrAdmin } from './caller';
import { getToken, insertToken, listTokens, revokeToken, toTokenInfo } from './store';

const HOURS: Record<string, number> = { h: 1, d: 24, w: 24 * 7 };

/** "90d" -> the instant 90 days from now (the schema bounds the number to 1-9999). */
export function expiryFrom(lifetime: string, now = Date.now()): string {
  const n = Number(lifetime.slice(0, -1));
  return new Date(now + n * HOURS[lifetime.slice(-1)] * 3_600_000).toISOString();
}

export function registerAuthRoutes(app: TypedApp, ctx: AppContext): void {
  const errors = { 401: ErrorBody, 403: ErrorBody };

  app.get('/v1/me', { schema: { tags: ['people'], description: 'who the bearer token belongs to', response: { 200: Me, 401: ErrorBody } } }, async (req) => describeCaller(req.caller));

  app.post('/v1/tokens', { schema: { tags: ['people'], description: 'admin only: a new token for a person; its secret is in this answer only', body: CreateToken, response: { 201: CreatedToken, 400: ErrorBody, ...errors } } }, async (req, reply) => {
    requireAdmin(req.caller, 'create tokens');
    const { row, secret } = await insertToken(ctx.db, {
      kind: 'person',
      user: req.body.user,
      admin: req.body.admin ?? false,
      runId: null,
      createdBy: req.caller.user,
      expiresAt: req.body.expires ? expiryFrom(req.body.expires) : null,
    });
    return reply.status(201).send({ ...toTokenInfo(row), token: secret });
  });

  app.get('/v1/tokens', { schema: { tags: ['people'], description: "people's tokens (never their secrets): all of them for an admin, one's own otherwise", response: { 200: TokenList, ...errors } } }, async (req) => ({
    items: (await listTokens(ctx.db, req.caller.admin ? undefined : req.caller.user)).map(toTokenInfo),
  }));

  app.delete('/v1/tokens/:id', { schema: { tags: ['people'], description: "revoke a token: its owner or an admin", params: Type.Object({ id: Id }), response: { 200: TokenInfo, 404: ErrorBody, 409: ErrorBody, ...errors } } }, async (req) => {
    const row = await getToken(ctx.db, req.params.id);
    if (!row) throw notFound(`no token "${req.params.id}"; \`trainyard tokens list\` lists them`);
    requireOwnerOrAdmin(req.caller, row.user_name, `token ${row.id}`, 'revoke');
    if (!(await revokeToken(ctx.db, row.id))) throw new HttpError('conflict', `token ${row.id} was already revoked at ${row.revoked_at}`);
    return toTokenInfo((await getToken(ctx.db, row.id))!);
  });
}
