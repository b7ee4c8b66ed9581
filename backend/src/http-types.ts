/**
 * The types the HTTP layer hands to each feature's routes: the Fastify instance with the
 * TypeBox type provider, and the services. Kept apart from server.ts so that server.ts
 * imports the route files and no route file imports server.ts.
 */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { RunsService } from './runs/service';
import type { SchedulesService } from './schedules/service';
import type { SnapshotsService } from './snapshots/service';
import type { ArtifactsService } from './artifacts/service';

export type TypedApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface Services {
  runs: RunsService;
  schedules: SchedulesService;
  snapshots: SnapshotsService;
  artifacts: ArtifactsService;
}
