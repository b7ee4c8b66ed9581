/**
 * GET /v1/costs?from=&to=&model=: cost per model per ISO week, added up by the
 * store. The range is inclusive UTC dates; it defaults to the last 12 weeks
 * (from the Monday 11 weeks before this week's) and may span at most 2 years.
 */
import { CostQuery, CostSummary, ErrorBody } from '@trainyard/shared';
import type { TypedApp } from '../http-types';
import type { AppContext } from '../context';
import { invalid } from '../errors';
import { costsByWeek } from './store';

export const MAX_RANGE_DAYS = 731;
export const DEFAULT_WEEKS = 12;
const DAY = 86400000;

export function registerCostRoutes(app: TypedApp, ctx: AppContext): void {
  app.get('/v1/costs', { schema: { tags: ['costs'], querystring: CostQuery, response: { 200: CostSummary, 400: ErrorBody } } }, async (req) => {
    const { from, to } = resolveRange(req.query.from, req.query.to);
    const items = await costsByWeek(ctx.conn, { from, to, model: req.query.model });
    return { from, to, currency: 'USD' as const, items };
  });
}

/** Checks the dates (real calendar days, from ≤ to, at most 2 years) and fills the defaults. */
export function resolveRange(from: string | undefined, to: string | undefined, now = new Date()): { from: string; to: string } {
  const end = to ? parseDate('to', to) : Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  let start: number;
  if (from) start = parseDate('from', from);
  else {
    const monday = end - ((new Date(end).getUTCDay() + 6) % 7) * DAY;
    start = monday - (DEFAULT_WEEKS - 1) * 7 * DAY;
  }
  if (start > end) throw invalid(`querystring.from (${iso(start)}) is after querystring.to (${iso(end)}); give from ≤ to as YYYY-MM-DD`);
  if ((end - start) / DAY + 1 > MAX_RANGE_DAYS) throw invalid(`the range ${iso(start)} to ${iso(end)} is longer than 2 years (${MAX_RANGE_DAYS} days); narrow from/to`);
  return { from: iso(start), to: iso(end) };
}

function parseDate(field: string, value: string): number {
  const t = Date.parse(`${value}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(t) || iso(t) !== value) {
    throw invalid(`querystring.${field}: must be a date as YYYY-MM-DD, e.g. 2025-03-03 (got "${value}")`);
  }
  return t;
}

const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
