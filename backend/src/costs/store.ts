/**
 * Cost per model per ISO week in one GROUP BY. Timestamps are ISO-8601 text,
 * so the date filter is a plain text comparison on both stores; the week
 * bucket and the hours use each dialect's date functions:
 * SQLite `date(ts, 'weekday 0', '-6 days')` (the Monday on or before) and
 * `julianday`, PostgreSQL `date_trunc('week', …)` (weeks start Monday) and
 * `extract(epoch …)`. A run counts in the week it started, or was created
 * when it never started.
 */
import { sql } from 'kysely';
import type { CostWeek } from '@trainyard/shared';
import type { Connection } from '../store/db';

export interface CostRange {
  /** inclusive, YYYY-MM-DD (UTC) */
  from: string;
  /** inclusive, YYYY-MM-DD (UTC) */
  to: string;
  model?: string;
}

interface Row { week: string; model: string; runs: number; pending_runs: number; hours: number | null; actual_cost: number | null; estimated_pending: number | null }

export async function costsByWeek(conn: Connection, range: CostRange): Promise<CostWeek[]> {
  const at = sql`coalesce(started_at, created_at)`;
  const pg = conn.dialect === 'postgres';
  const week = pg ? sql`to_char(date_trunc('week', (${at})::timestamptz at time zone 'UTC'), 'YYYY-MM-DD')` : sql`date(${at}, 'weekday 0', '-6 days')`;
  const hours = pg
    ? sql`extract(epoch from (finished_at::timestamptz - started_at::timestamptz)) / 3600.0`
    : sql`(julianday(finished_at) - julianday(started_at)) * 24.0`;
  const until = nextDay(range.to);
  const byModel = range.model ? sql`and model = ${range.model}` : sql``;
  const { rows } = await sql<Row>`
    select ${week} as week, model,
      count(*) as runs,
      sum(case when finished_at is null then 1 else 0 end) as pending_runs,
      sum(case when finished_at is not null and started_at is not null then ${hours} else 0 end) as hours,
      sum(case when finished_at is not null then coalesce(actual_cost, 0) else 0 end) as actual_cost,
      sum(case when finished_at is null then coalesce(estimated_cost, 0) else 0 end) as estimated_pending
    from runs
    where ${at} >= ${range.from} and ${at} < ${until} ${byModel}
    group by 1, 2
    order by 1, 2`.execute(conn.db);
  return rows.map((r) => ({
    weekStart: String(r.week),
    model: r.model,
    runs: Number(r.runs),
    pendingRuns: Number(r.pending_runs),
    hours: round(Number(r.hours ?? 0), 6),
    actualCost: round(Number(r.actual_cost ?? 0), 6),
    estimatedPending: round(Number(r.estimated_pending ?? 0), 6),
  }));
}

/** YYYY-MM-DD of the day after (the exclusive end of an inclusive range). */
export function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));
