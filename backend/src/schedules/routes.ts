/** /v1/schedules: list and delete (schedules are created through POST /v1/runs with `schedule`). */
import Type from 'typebox';
import { CreateSchedule, ErrorBody, Id, LaunchResult, PageQuery, ScheduleList } from '@trainyard/shared';
import type { TypedApp, Services } from '../http-types';
import type { AppContext } from '../context';
import { requireOwnerOrAdmin } from '../auth/caller';

export function registerScheduleRoutes(app: TypedApp, _ctx: AppContext, services: Services): void {
  app.get('/v1/schedules', { schema: { tags: ['schedules'], querystring: PageQuery, response: { 200: ScheduleList, 400: ErrorBody } } }, async (req) =>
    services.schedules.list({ limit: req.query.limit ?? 100, cursor: req.query.cursor }));

  app.post('/v1/schedules', { schema: { tags: ['schedules'], body: CreateSchedule, response: { 201: LaunchResult, 400: ErrorBody } } }, async (req, reply) => {
    return reply.status(201).send(await services.schedules.create(req.body, req.caller.user));
  });

  app.delete('/v1/schedules/:id', { schema: { tags: ['schedules'], params: Type.Object({ id: Id }), response: { 200: Type.Object({ id: Type.String(), deleted: Type.Literal(true) }), 403: ErrorBody, 404: ErrorBody } } }, async (req) => {
    const schedule = await services.schedules.get(req.params.id);
    requireOwnerOrAdmin(req.caller, schedule.createdBy, `schedule ${schedule.id}`, 'delete');
    await services.schedules.delete(req.params.id);
    return { id: req.params.id, deleted: true as const };
  });
}
