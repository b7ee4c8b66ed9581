/** Server-sent events on GET /v1/events: one `event:` name per kind, JSON data. */
import Type from 'typebox';
import { Run } from './runs';
import { Snapshot } from './snapshots';
import { Version } from './models';
import { Schedule } from './schedules';

export const EventKinds = ['run', 'snapshot', 'version', 'schedule'] as const;
export type EventKind = (typeof EventKinds)[number];

export const TrainyardEvent = Type.Union([
  Type.Object({ kind: Type.Literal('run'), data: Run }),
  Type.Object({ kind: Type.Literal('snapshot'), data: Snapshot }),
  Type.Object({ kind: Type.Literal('version'), data: Version }),
  Type.Object({ kind: Type.Literal('schedule'), data: Type.Union([Schedule, Type.Object({ id: Type.String(), deleted: Type.Literal(true) })]) }),
]);
export type TrainyardEvent = Type.Static<typeof TrainyardEvent>;
