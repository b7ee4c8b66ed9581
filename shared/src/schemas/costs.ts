/**
 * GET /v1/costs: what runs cost per model per ISO week (weeks start on Monday,
 * UTC), added up by the store. A run counts in the week it started (or was
 * created, when it never started). `actualCost` and `hours` come from finished
 * runs; runs not finished yet count in `pendingRuns` and `estimatedPending`
 * (their estimate at launch).
 */
import Type from 'typebox';
import { ModelName } from './common';

export const CostDate = Type.String({ format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'a date as YYYY-MM-DD, e.g. 2025-03-03' });

export const CostQuery = Type.Object(
  {
    from: Type.Optional(CostDate),
    to: Type.Optional(CostDate),
    model: Type.Optional(ModelName),
  },
  { additionalProperties: false },
);

export const CostWeek = Type.Object({
  /** the Monday the ISO week starts on, YYYY-MM-DD */
  weekStart: Type.String(),
  model: ModelName,
  runs: Type.Integer(),
  pendingRuns: Type.Integer({ description: 'runs of the week not finished yet' }),
  hours: Type.Number({ description: 'wall-clock hours of finished runs' }),
  actualCost: Type.Number({ description: 'USD, price per hour × wall-clock time of finished runs' }),
  estimatedPending: Type.Number({ description: 'USD, the launch estimate of runs not finished yet' }),
});

export const CostSummary = Type.Object({
  /** the range used (inclusive, UTC dates): the query's, or the default last 12 weeks */
  from: Type.String(),
  to: Type.String(),
  currency: Type.Literal('USD'),
  items: Type.Array(CostWeek),
});

export type CostQuery = Type.Static<typeof CostQuery>;
export type CostWeek = Type.Static<typeof CostWeek>;
export type CostSummary = Type.Static<typeof CostSummary>;
