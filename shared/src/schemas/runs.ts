/** Runs, sweeps, estimates, logs and metrics. */
import Type from 'typebox';
import { Cursor, EntrypointName, Id, ModelName, ParamKey, ParamValue, Params, ProfileName, Timestamp, VersionLabel } from './common';

export const RunStatus = Type.Union([
  Type.Literal('Pending'),
  Type.Literal('Running'),
  Type.Literal('Succeeded'),
  Type.Literal('Failed'),
  Type.Literal('Cancelled'),
]);
export const FINAL_STATUSES = ['Succeeded', 'Failed', 'Cancelled'] as const;

export const SweepSpec = Type.Record(ParamKey, Type.Array(ParamValue, { minItems: 1, maxItems: 10000 }), {
  propertyNames: ParamKey, // the key rule, kept in /openapi.json
  minProperties: 1,
  maxProperties: 16,
  additionalProperties: false,
  description: 'param name -> values; one run per point of the grid',
});

export const Run = Type.Object({
  id: Id,
  model: ModelName,
  version: VersionLabel,
  entrypoint: EntrypointName,
  command: Type.String(),
  params: Params,
  hardware: ProfileName,
  status: RunStatus,
  reason: Type.Union([Type.String(), Type.Null()]),
  sweepId: Type.Union([Id, Type.Null()]),
  sweepIndex: Type.Union([Type.Integer(), Type.Null()]),
  scheduleId: Type.Union([Id, Type.Null()]),
  executor: Type.String(),
  maxDurationSeconds: Type.Integer(),
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  createdBy: Type.String(),
  createdAt: Timestamp,
  startedAt: Type.Union([Timestamp, Type.Null()]),
  finishedAt: Type.Union([Timestamp, Type.Null()]),
  pricePerHour: Type.Number(),
  estimatedCost: Type.Union([Type.Number(), Type.Null()]),
  actualCost: Type.Union([Type.Number(), Type.Null()]),
  /** the training run whose artifacts this run reads (launched with fromRun) */
  inputRunId: Type.Optional(Type.Union([Id, Type.Null()])),
});
export const RunPage = Type.Object({ items: Type.Array(Run), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const RunQuery = Type.Object(
  {
    model: Type.Optional(ModelName),
    status: Type.Optional(RunStatus),
    sweep: Type.Optional(Id),
    schedule: Type.Optional(Id),
    createdBy: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'only runs launched by this person (GET /v1/me says who you are)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export const Sweep = Type.Object({
  id: Id,
  model: ModelName,
  version: VersionLabel,
  axes: SweepSpec,
  size: Type.Integer(),
  parallelism: Type.Integer(),
  createdAt: Timestamp,
});

export const LogLine = Type.Object({
  seq: Type.Integer(),
  stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr'), Type.Literal('system')]),
  text: Type.String(),
  time: Timestamp,
});
export const LogPage = Type.Object({
  lines: Type.Array(LogLine),
  nextSeq: Type.Integer(),
  done: Type.Boolean({ description: 'the run is final and every line has been returned' }),
});
export const LogQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: -1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'lines per page (default and most: 10000)' })),
    follow: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('0'), Type.Literal('true'), Type.Literal('false')])),
  },
  { additionalProperties: false },
);

export const MetricPoint = Type.Object({ step: Type.Union([Type.Integer(), Type.Null()]), value: Type.Number(), time: Timestamp });
export const MetricSeries = Type.Object({ name: Type.String(), points: Type.Array(MetricPoint) });
/** a page of a run's metric points in the order they were logged, grouped by name; `nextCursor` is null on the last */
export const MetricList = Type.Object({ runId: Id, series: Type.Array(MetricSeries), nextCursor: Type.Optional(Type.Union([Type.String(), Type.Null()])) });
export const MetricQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'points per page (default and most: 10000)' })), cursor: Type.Optional(Cursor) },
  { additionalProperties: false },
);

export type RunStatus = Type.Static<typeof RunStatus>;
export type Run = Type.Static<typeof Run>;
export type RunPage = Type.Static<typeof RunPage>;
export type RunQuery = Type.Static<typeof RunQuery>;
export type Sweep = Type.Static<typeof Sweep>;
export type LogLine = Type.Static<typeof LogLine>;
export type LogPage = Type.Static<typeof LogPage>;
export type MetricPoint = Type.Static<typeof MetricPoint>;
export type MetricSeries = Type.Static<typeof MetricSeries>;
export type MetricList = Type.Static<typeof MetricList>;
export type MetricQuery = Type.Static<typeof MetricQuery>;
export type SweepSpec = Type.Static<typeof SweepSpec>;
