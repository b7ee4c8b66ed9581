/**
 * Who is calling: a bearer token turned into a Caller, and the rules that
 * follow from it. Three kinds of token authenticate:
 *   home    the server's own admin token (the data-home token file), compared in constant time;
 *   person  a tyk_ token made with POST /v1/tokens, looked up by its sha256;
 *   run     a tyr_ token scoped to one run (see run-tokens.ts), accepted only where a route opts in.
 * Anyone signed in may read; changing or removing a thing is for its creator and admins.
 */
import type { Me, TokenKind } from '@trainyard/shared';
import type { AppContext } from '../context';
import { HttpError } from '../errors';
import { tokensEqual } from './token';
import { hashesEqual, hashSecret, secretKind } from './secret';
import { tokenByHash } from './store';

export interface Caller {
  user: string;
  admin: boolean;
  kind: TokenKind;
  tokenId: string | null;
  /** set for run tokens: the one run they may act for */
  runId: string | null;
  /** set for a schedule's run token (runId null): it acts for the runs recorded as that schedule's fires */
  scheduleId?: string | null;
  expiresAt: string | null;
}

const unauthorized = (message: string) => new HttpError('unauthorized', message);

export async function authenticate(ctx: AppContext, bearer: string, now = new Date()): Promise<Caller> {
  if (tokensEqual(bearer, ctx.token)) return { user: ctx.user, admin: true, kind: 'home', tokenId: null, runId: null, expiresAt: null };
  if (!secretKind(bearer)) throw unauthorized('invalid bearer token');
  const hash = hashSecret(bearer);
  const row = await tokenByHash(ctx.db, hash);
  if (!row || !hashesEqual(row.hash, hash)) throw unauthorized('invalid bearer token');
  if (row.revoked_at) throw unauthorized(`token ${row.id} was revoked at ${row.revoked_at}; ask an admin for a new one (trainyard tokens create)`);
  if (row.expires_at && Date.parse(row.expires_at) <= now.getTime()) {
    throw unauthorized(`token ${row.id} expired at ${row.expires_at}; ask an admin for a new one (trainyard tokens create)`);
  }
  return {
    user: row.user_name,
    admin: Number(row.admin) === 1,
    kind: row.kind as TokenKind,
    tokenId: row.id,
    runId: row.run_id,
    scheduleId: row.schedule_id,
    expiresAt: row.expires_at,
  };
}

export function describeCaller(c: Caller): Me {
  return { user: c.user, admin: c.admin, kind: c.kind, tokenId: c.tokenId, runId: c.runId, expiresAt: c.expiresAt };
}

export function requireAdmin(c: Caller, action: string): void {
  if (!c.admin) throw new HttpError('forbidden', `only an admin can ${action} (you are signed in as ${c.user}, not an admin)`);
}

/**
 * Cancel, delete and the like: allowed to the thing's creator and to admins.
 * `what` names the thing, e.g. `run run_…`; `verb` is the action, e.g. `cancel`.
 */
export function requireOwnerOrAdmin(c: Caller, owner: string, what: string, verb: string): void {
  if (c.admin || c.user === owner) return;
  throw new HttpError('forbidden', `${what} belongs to ${owner}: only ${owner} or an admin can ${verb} it (you are signed in as ${c.user})`);
}
