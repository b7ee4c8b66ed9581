/**
 * Run tokens: a secret scoped to one run, for code that acts for that run
 * (a Kubernetes pod pushing its artifacts to the backend). A run token
 * authenticates only on routes that opt in, and only for its own run:
 *
 *   // 1. when launching run `id` (the token goes into the pod, e.g. as TRAINYARD_RUN_TOKEN)
 *   const secret = await issueRunToken(ctx.db, id);          // 'tyr_…', shown nowhere else
 *   // 2. a route the run may call: config.runScoped, and its :id param names the run
 *   app.put('/v1/runs/:id/artifacts/*', { config: { runScoped: true }, schema: { params: … } }, handler);
 *   // 3. once the run no longer needs it (after its artifacts are in)
 *   await revokeRunTokens(ctx.db, id);
 *
 * Every other route answers 403 to a run token, and an opted-in route answers 403
 * when :id is another run (see hook.ts). Inside the handler, req.caller.kind === 'run'
 * and req.caller.runId === id; req.caller.user is the run's creator, not an admin.
 * GET /v1/runs/:id opts in, so a run may read its own record.
 *
 * A schedule's fires on Kubernetes get their run ids only when the CronJob controller creates each
 * Job, so no per-run token can exist before the pod starts. Their pods carry a schedule token
 * instead (issueScheduleToken): a run token that acts for any run the backend has recorded as a fire
 * of that schedule, and for nothing else. It lives as long as the schedule.
 */
import type { Db } from '../store/db';
import { notFound } from '../errors';
import { insertToken, revokeRunTokenRows, revokeScheduleTokenRows, revokeToken } from './store';

/** A new token for run `runId` (which must exist); valid until revoked, or for `ttlSeconds` when given. */
export async function issueRunToken(db: Db, runId: string, opts: { ttlSeconds?: number } = {}): Promise<string> {
  const run = await db.selectFrom('runs').select('created_by').where('id', '=', runId).executeTakeFirst();
  if (!run) throw notFound(`no run "${runId}" to issue a run token for`);
  const expiresAt = opts.ttlSeconds ? new Date(Date.now() + opts.ttlSeconds * 1000).toISOString() : null;
  const { secret } = await insertToken(db, { kind: 'run', user: run.created_by, admin: false, runId, createdBy: run.created_by, expiresAt });
  return secret;
}

/** A new run token for every run of schedule `scheduleId` (which must exist); valid until revoked. */
export async function issueScheduleToken(db: Db, scheduleId: string): Promise<{ id: string; secret: string }> {
  const s = await db.selectFrom('schedules').select('created_by').where('id', '=', scheduleId).executeTakeFirst();
  if (!s) throw notFound(`no schedule "${scheduleId}" to issue a run token for`);
  const { row, secret } = await insertToken(db, { kind: 'run', user: s.created_by, admin: false, runId: null, scheduleId, createdBy: s.created_by, expiresAt: null });
  return { id: row.id, secret };
}

/** A schedule token for the Kubernetes executor: the secret, and how to revoke it when its Secret already existed. */
export async function scheduleTokenFor(db: Db, scheduleId: string): Promise<{ token: string; discard: () => Promise<void> }> {
  const { id, secret } = await issueScheduleToken(db, scheduleId);
  return { token: secret, discard: async () => void (await revokeToken(db, id)) };
}

/** Revokes the schedule tokens of `scheduleId` (the schedule was deleted); returns how many were still valid. */
export async function revokeScheduleTokens(db: Db, scheduleId: string): Promise<number> {
  return revokeScheduleTokenRows(db, scheduleId);
}

/** Revokes every token of run `runId`; returns how many were still valid. */
export async function revokeRunTokens(db: Db, runId: string): Promise<number> {
  return revokeRunTokenRows(db, runId);
}
