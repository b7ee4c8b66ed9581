/**
 * The HTTP side of auth: every request but the public ones (/healthz and the
 * dashboard's page and assets) carries a bearer token, which becomes
 * req.caller. A run token passes only on routes registered with
 * `config: { runScoped: true }` whose :id param is its own run (run-tokens.ts).
 * The routes are recorded as they are registered, so a test can try every one.
 */
import type { FastifyRequest } from 'fastify';
import type { TypedApp } from '../http-types';
import type { AppContext } from '../context';
import { HttpError } from '../errors';
import { authenticate, type Caller } from './caller';
import { tokenPath } from './token';
import { isScheduledRunId } from '../executors/kubernetes/names';

declare module 'fastify' {
  interface FastifyRequest {
    /** who sent the request; set on every authenticated route */
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** a run token of the run named by the :id param may call this route */
    runScoped?: boolean;
    /** with runScoped: a run token may also call it for its run's input run (the training run it reads, fromRun) */
    runInput?: boolean;
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  runScoped: boolean;
}

const routeTables = new WeakMap<object, RouteEntry[]>();

/** Every route of the server built on this context, for tests that must cover them all. */
export function registeredRoutes(ctx: AppContext): RouteEntry[] {
  return routeTables.get(ctx) ?? [];
}

export function isPublicPath(path: string): boolean {
  return path === '/healthz' || path === '/' || path.startsWith('/assets/'); // the dashboard's static files
}

export function installAuth(app: TypedApp, ctx: AppContext): void {
  const table: RouteEntry[] = [];
  routeTables.set(ctx, table);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) table.push({ method, url: r.url, runScoped: r.config?.runScoped === true });
  });
  app.decorateRequest('caller', null as unknown as Caller);
  app.addHook('onRequest', async (req) => {
    if (isPublicPath(req.url.split('?')[0])) return;
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new HttpError('unauthorized', `missing bearer token: send "Authorization: Bearer <token>" (the token is in ${tokenPath(ctx.config.home)})`);
    const caller = await authenticate(ctx, m[1]);
    if (caller.kind === 'run') await checkRunScope(ctx, req, caller);
    req.caller = caller;
  });
}

async function checkRunScope(ctx: AppContext, req: FastifyRequest, caller: Caller): Promise<void> {
  const config = req.routeOptions.config;
  if (config?.runScoped !== true) {
    throw new HttpError('forbidden', `a run token (of run ${caller.runId}) cannot call ${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}: it is for its run's own routes only; use a person's token`);
  }
  const id = (req.params as { id?: unknown } | undefined)?.id;
  if (caller.scheduleId) return checkScheduleScope(ctx, caller.scheduleId, id, config.runInput === true);
  if (id === caller.runId) return;
  if (config.runInput === true && typeof id === 'string' && caller.runId) {
    const run = await ctx.db.selectFrom('runs').select('input_run_id').where('id', '=', caller.runId).executeTakeFirst();
    if (run?.input_run_id === id) return;
  }
  throw new HttpError('forbidden', `this run token belongs to run ${caller.runId}, not ${String(id)}`);
}

/**
 * A schedule's token acts for the runs recorded as that schedule's fires (and, on runInput routes,
 * reads the training runs those fires take as input). A fire's pod may start before the backend has
 * recorded its Job's runs (the backend was restarting): that is a 503 the pod retries, not a refusal.
 */
async function checkScheduleScope(ctx: AppContext, scheduleId: string, id: unknown, runInput: boolean): Promise<void> {
  const run = typeof id === 'string' ? await ctx.db.selectFrom('runs').select('schedule_id').where('id', '=', id).executeTakeFirst() : undefined;
  if (run?.schedule_id === scheduleId) return;
  if (run && runInput) {
    const reader = await ctx.db.selectFrom('runs').select('id').where('schedule_id', '=', scheduleId).where('input_run_id', '=', id as string).limit(1).executeTakeFirst();
    if (reader) return;
  }
  if (!run && typeof id === 'string' && isScheduledRunId(id)) {
    throw new HttpError('unavailable', `run ${id} is not recorded yet (a fire of schedule ${scheduleId} the backend has not seen): retry shortly`);
  }
  throw new HttpError('forbidden', `this run token belongs to schedule ${scheduleId}, and ${String(id)} is not one of its runs`);
}
