/** A launch request (one run, a sweep, or a schedule) and its price estimate. */
import Type from 'typebox';
import { EntrypointName, Id, ModelName, Params, ProfileName, VersionLabel } from './common';
import { SweepSpec } from './runs';

/** Max duration: 1 minute to 7 days. */
export const MaxDurationMinutes = Type.Integer({ minimum: 1, maximum: 10080, description: 'minutes, 1 to 10080 (7 days)' });

/** a cron rule: 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first */
export const CronRule = Type.String({ minLength: 9, maxLength: 120, pattern: '^\\S+( \\S+){4,5}$', description: 'cron expression, 5 or 6 space-separated fields, e.g. "0 3 * * 1"' });

/**
 * Which version a schedule's fires run, the same on every executor: 'latest' is the model's
 * latest version at each fire (the default, for retraining); 'pinned' is one version, always:
 * the `version` given, or the latest at creation when none is. A `version` given means pinned.
 */
export const VersionPolicy = Type.Union([Type.Literal('latest'), Type.Literal('pinned')], {
  description: "schedules only: 'latest' (default without version) runs the latest version at each fire; 'pinned' (implied by version) runs one version, the latest at creation when version is not given",
});
export type VersionPolicy = Type.Static<typeof VersionPolicy>;

export const LaunchRequest = Type.Object(
  {
    model: ModelName,
    version: Type.Optional(VersionLabel),
    entrypoint: Type.Optional(EntrypointName),
    hardware: Type.Optional(ProfileName),
    params: Type.Optional(Params),
    sweep: Type.Optional(SweepSpec),
    parallelism: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    maxDurationMinutes: Type.Optional(MaxDurationMinutes),
    schedule: Type.Optional(CronRule),
    timezone: Type.Optional(Type.String({ maxLength: 64 })),
    versionPolicy: Type.Optional(VersionPolicy),
    allowLargeSweep: Type.Optional(Type.Boolean({ description: 'allow a grid of more than 10,000 points' })),
    fromRun: Type.Optional(
      Type.Union([Id, Type.Literal('latest')], {
        description:
          "a training run whose artifacts the run reads from TRAINYARD_INPUT_DIR; 'latest' is the model's newest succeeded train run with artifacts, resolved at each launch",
      }),
    ),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);

/** POST /v1/schedules: a launch request whose `schedule` is required */
export const CreateSchedule = Type.Object({ ...LaunchRequest.properties, schedule: CronRule }, { additionalProperties: false });

export const EstimateBasis = Type.Union([Type.Literal('median-of-past-runs'), Type.Literal('max-duration')]);
export const Estimate = Type.Object({
  runs: Type.Integer(),
  hardware: ProfileName,
  pricePerHour: Type.Number(),
  expectedSecondsPerRun: Type.Number(),
  basis: EstimateBasis,
  pastRuns: Type.Integer({ description: 'how many finished runs the median was taken over' }),
  totalCost: Type.Number(),
  currency: Type.Literal('USD'),
  explanation: Type.String(),
});



export type LaunchRequest = Type.Static<typeof LaunchRequest>;
export type Estimate = Type.Static<typeof Estimate>;
