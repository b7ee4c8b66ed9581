/** Store queries for tokens (SQLite and PostgreSQL alike). Only hashes are stored. */
import type { TokenInfo, TokenKind } from '@trainyard/shared';
import type { Db, TokensTable } from '../store/db';
import { newId, nowIso } from '../ids';
import { hashSecret, hintOf, newSecret, type IssuedKind } from './secret';

export function toTokenInfo(r: TokensTable): TokenInfo {
  return {
    id: r.id,
    kind: r.kind as TokenKind,
    user: r.user_name,
    admin: Number(r.admin) === 1,
    runId: r.run_id,
    hint: r.hint,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

export interface NewToken {
  kind: IssuedKind;
  user: string;
  admin: boolean;
  runId: string | null;
  /** a run token for the runs of one schedule (runId null) */
  scheduleId?: string | null;
  createdBy: string;
  expiresAt: string | null;
}

/** Records a new token and returns its row and its secret (the only time the secret exists outside the caller). */
export async function insertToken(db: Db, t: NewToken): Promise<{ row: TokensTable; secret: string }> {
  const secret = newSecret(t.kind);
  const row: TokensTable = {
    id: newId('tok'),
    kind: t.kind,
    user_name: t.user,
    admin: t.admin ? 1 : 0,
    run_id: t.runId,
    schedule_id: t.scheduleId ?? null,
    hash: hashSecret(secret),
    hint: hintOf(secret),
    created_by: t.createdBy,
    created_at: nowIso(),
    expires_at: t.expiresAt,
    revoked_at: null,
  };
  await db.insertInto('tokens').values(row).execute();
  return { row, secret };
}

export async function tokenByHash(db: Db, hash: string): Promise<TokensTable | undefined> {
  return db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
}

export async function getToken(db: Db, id: string): Promise<TokensTable | undefined> {
  return db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

/** People's tokens (run tokens are internal), newest first; one person's when `user` is given. */
export async function listTokens(db: Db, user?: string): Promise<TokensTable[]> {
  let q = db.selectFrom('tokens').selectAll().where('kind', '=', 'person');
  if (user !== undefined) q = q.where('user_name', '=', user);
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
}

/** Marks a token revoked (the row is kept, so lists say when); false if it was already revoked. */
export async function revokeToken(db: Db, id: string): Promise<boolean> {
  const res = await db.updateTable('tokens').set({ revoked_at: nowIso() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function revokeRunTokenRows(db: Db, runId: string): Promise<number> {
  const res = await db.updateTable('tokens').set({ revoked_at: nowIso() }).where('kind', '=', 'run').where('run_id', '=', runId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export async function revokeScheduleTokenRows(db: Db, scheduleId: string): Promise<number> {
  const res = await db.updateTable('tokens').set({ revoked_at: nowIso() }).where('kind', '=', 'run').where('schedule_id', '=', scheduleId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows);
}
