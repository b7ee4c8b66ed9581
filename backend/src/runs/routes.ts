/** /v1/runs, /v1/runs/estimate, /v1/runs/:id[/logs|/metrics|/cancel] */
import Type from 'typebox';
import { ErrorBody, Estimate, Id, LaunchRequest, LaunchResult, LogPage, LogQuery, MetricList, MetricQuery, Run, RunPage, RunQuery, FINAL_STATUSES } from '@trainyard/shared';
import type { TypedApp, Services } from '../http-types';
import type { AppContext } from '../context';
import { invalid } from '../errors';
import { drained, streams } from '../http-streams';
import { requireOwnerOrAdmin } from '../auth/caller';
import { getLogs, getMetrics, listRuns } from './store';

const RunParams = Type.Object({ id: Id });
const final = new Set<string>(FINAL_STATUSES);
/** lines a log follow reads from the store at a time */
const FOLLOW_PAGE = 1000;

export function registerRunRoutes(app: TypedApp, ctx: AppContext, services: Services): void {
  const trackStream = streams(app);
  const { runs, schedules } = services;

  app.get('/v1/runs', { schema: { tags: ['runs'], querystring: RunQuery, response: { 200: RunPage, 400: ErrorBody } } }, async (req) => {
    const q = req.query;
    return listRuns(ctx.db, { model: q.model, status: q.status, sweep: q.sweep, schedule: q.schedule, createdBy: q.createdBy, cursor: q.cursor, limit: q.limit ?? 100 });
  });

  app.post(
    '/v1/runs',
    { schema: { tags: ['runs'], body: LaunchRequest, headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }), response: { 201: LaunchResult, 200: LaunchResult, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody } } },
    async (req, reply) => {
      const header = req.headers['idempotency-key'];
      if (header && req.body.idempotencyKey && header !== req.body.idempotencyKey) throw invalid('the Idempotency-Key header and the idempotencyKey field differ; send one');
      const body = header ? { ...req.body, idempotencyKey: header } : req.body;
      const createdBy = req.caller.user;
      const result = body.schedule ? await schedules.create(body, createdBy) : await runs.launch(body, { createdBy });
      return reply.status(201).send(result);
    },
  );

  app.post('/v1/runs/estimate', { schema: { tags: ['runs'], body: LaunchRequest, response: { 200: Estimate, 400: ErrorBody, 404: ErrorBody } } }, async (req) => runs.estimate(req.body));

  // a run's own token may read its record (auth/run-tokens.ts)
  app.get('/v1/runs/:id', { config: { runScoped: true }, schema: { tags: ['runs'], params: RunParams, response: { 200: Run, 404: ErrorBody } } }, async (req) => runs.get(req.params.id));

  app.post('/v1/runs/:id/cancel', { schema: { tags: ['runs'], description: 'its creator or an admin', params: RunParams, response: { 200: Run, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody } } }, async (req) => {
    const run = await runs.get(req.params.id);
    requireOwnerOrAdmin(req.caller, run.createdBy, `run ${run.id}`, 'cancel');
    return runs.cancel(run.id);
  });

  app.get('/v1/runs/:id/metrics', { schema: { tags: ['runs'], params: RunParams, querystring: MetricQuery, response: { 200: MetricList, 400: ErrorBody, 404: ErrorBody } } }, async (req) => {
    await runs.get(req.params.id);
    return { runId: req.params.id, ...(await getMetrics(ctx.db, req.params.id, { limit: req.query.limit ?? 10000, cursor: req.query.cursor })) };
  });

  app.get('/v1/runs/:id/logs', { schema: { tags: ['runs'], params: RunParams, querystring: LogQuery, response: { 200: LogPage, 400: ErrorBody, 404: ErrorBody } } }, async (req, reply) => {
    const id = req.params.id;
    const run = await runs.get(id);
    const after = req.query.after ?? -1;
    const follow = req.query.follow === '1' || req.query.follow === 'true';
    if (!follow) {
      const limit = req.query.limit ?? 10000;
      const lines = await getLogs(ctx.db, id, after, limit);
      const nextSeq = lines.length ? lines[lines.length - 1].seq : after;
      const done = final.has(run.status) && lines.length < limit;
      return { lines, nextSeq, done };
    }
    // follow: newline-delimited JSON log lines until the run is final and drained
    reply.hijack();
    const raw = reply.raw;
    trackStream(raw);
    raw.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    let cursor = after;
    let closed = false;
    let wake: (() => void) | null = null;
    const off = ctx.bus.onLogs(id, () => wake?.());
    raw.on('close', () => {
      closed = true;
      wake?.();
    });
    try {
      let finalSeen = false;
      while (!closed) {
        const lines = await getLogs(ctx.db, id, cursor, FOLLOW_PAGE);
        if (lines.length) {
          cursor = lines[lines.length - 1].seq;
          // backpressure: the next page is read only once the client has taken this one
          if (!raw.write(lines.map((l) => JSON.stringify(l)).join('\n') + '\n')) await drained(raw);
          continue;
        }
        if (finalSeen) break;
        if (final.has((await runs.get(id)).status)) {
          finalSeen = true; // one more read: lines may land between the read and the status check
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 2000).unref();
        });
        wake = null;
      }
    } finally {
      off();
      raw.end();
    }
  });
}
