/**
 * Cost per model per ISO week, added up by the backend (GET /v1/costs, one
 * GROUP BY in the store) over a chosen range (default: the last 12 weeks).
 * Finished runs count their actual cost; runs not finished show apart as
 * their launch estimate. Reloads when a run finishes (debounced).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { CostSummary as CostData, CostWeek } from '../schemas/costs';
import { useUi } from './context';
import { useAsync, useEvents } from './hooks';
import { duration, money } from './format';
import { Empty, ErrorState, Loading } from './states';

const RANGES = [4, 12, 26, 52] as const;

/** YYYY-MM-DD (UTC) of the Monday `weeks - 1` weeks before this week's. */
export function rangeStart(weeks: number, now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7) - (weeks - 1) * 7);
  return d.toISOString().slice(0, 10);
}

/** Every Monday from `from` to `to` (newest first), so weeks without runs show as empty columns. */
export function weekStarts(from: string, to: string): string[] {
  const out: string[] = [];
  const d = new Date(`${from}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  const end = Date.parse(`${to}T00:00:00Z`);
  for (; d.getTime() <= end && out.length < 120; d.setUTCDate(d.getUTCDate() + 7)) out.push(d.toISOString().slice(0, 10));
  return out.reverse();
}

/** Rows per model (most expensive first) with their weeks, and totals. */
export function pivotCosts(data: CostData) {
  const byModel = new Map<string, { model: string; weeks: Map<string, CostWeek>; actual: number; pending: number; runs: number; hours: number }>();
  for (const w of data.items) {
    const m = byModel.get(w.model) ?? { model: w.model, weeks: new Map(), actual: 0, pending: 0, runs: 0, hours: 0 };
    m.weeks.set(w.weekStart, w);
    m.actual += w.actualCost;
    m.pending += w.estimatedPending;
    m.runs += w.runs;
    m.hours += w.hours;
    byModel.set(w.model, m);
  }
  const models = [...byModel.values()].sort((a, b) => b.actual - a.actual || a.model.localeCompare(b.model));
  const sum = (f: (m: (typeof models)[number]) => number) => models.reduce((s, m) => s + f(m), 0);
  return { models, weeks: weekStarts(data.from, data.to), actual: sum((m) => m.actual), pending: sum((m) => m.pending), runs: sum((m) => m.runs), hours: sum((m) => m.hours) };
}

const shortDate = (d: string) => new Date(`${d}T00:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });

export function CostSummary({ weeks: initialWeeks = 12 }: { weeks?: number }) {
  const { client, links } = useUi();
  const [weeks, setWeeks] = useState(initialWeeks);
  const [state, reload] = useAsync(() => client.getCosts({ from: rangeStart(weeks) }), [client, weeks]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => { if (timer.current) clearTimeout(timer.current); }, []);
  useEvents(client, (e) => {
    if (e.kind !== 'run') return;
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(reload, 1000);
  }, reload);
  const sum = useMemo(() => (state.status === 'ok' ? pivotCosts(state.value) : null), [state]);
  const picker = (
    <label className="ty-row ty-small">
      <span className="ty-muted">Range</span>
      <select className="ty-select" aria-label="Range" value={weeks} onChange={(e) => setWeeks(Number(e.target.value))}>
        {RANGES.map((n) => <option key={n} value={n}>last {n} weeks</option>)}
      </select>
    </label>
  );
  if (state.status === 'loading') return <Loading label="Adding up costs…" />;
  if (state.status === 'error') return <ErrorState error={state.error} what="costs" onRetry={reload} />;
  if (!sum || sum.models.length === 0) {
    return <div className="ty-stack">{picker}<Empty title="No costs in this range" icon="$">Costs appear once runs have run. Pick a longer range to look further back.</Empty></div>;
  }
  const range = `${state.value.from} to ${state.value.to}`;
  return (
    <div className="ty-stack" data-testid="cost-summary">
      <div className="ty-row" style={{ alignItems: 'baseline' }}>
        <span className="ty-h2" style={{ fontSize: '1.6em', margin: 0 }} data-testid="cost-total">{money(sum.actual)}</span>
        <span className="ty-muted">
          actual, {sum.runs.toLocaleString('en-US')} run{sum.runs === 1 ? '' : 's'} · {duration(sum.hours * 3600)} of run time across {sum.models.length} model{sum.models.length === 1 ? '' : 's'}
          {sum.pending > 0 ? <> · <span className="ty-warn" data-testid="cost-pending">+ {money(sum.pending)} estimated for runs not finished</span></> : null}
        </span>
        <span className="ty-spacer" />
        {picker}
      </div>
      <div className="ty-card" style={{ padding: 0, overflowX: 'auto' }}>
        <table className="ty-table" aria-label="Cost per model per week">
          <thead>
            <tr>
              <th>Model</th>
              {sum.weeks.map((w) => <th key={w} className="ty-num" title={`ISO week starting Monday ${w}`}>{shortDate(w)}</th>)}
              <th className="ty-num">Total</th>
            </tr>
          </thead>
          <tbody>
            {sum.models.map((m) => (
              <tr key={m.model}>
                <td><a href={links.model(m.model)}>{m.model}</a></td>
                {sum.weeks.map((w) => {
                  const c = m.weeks.get(w);
                  if (!c) return <td key={w} className="ty-num"><span className="ty-muted">—</span></td>;
                  const tip = `${c.runs} run${c.runs === 1 ? '' : 's'}, ${duration(c.hours * 3600)}${c.pendingRuns ? `; ${c.pendingRuns} not finished, estimated ${money(c.estimatedPending)}` : ''}`;
                  return (
                    <td key={w} className="ty-num" title={tip}>
                      {money(c.actualCost)}
                      {c.pendingRuns ? <div className="ty-warn ty-small">+{money(c.estimatedPending)} est.</div> : null}
                    </td>
                  );
                })}
                <td className="ty-num"><strong>{money(m.actual)}</strong>{m.pending > 0 ? <div className="ty-warn ty-small">+{money(m.pending)} est.</div> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="ty-hint">
        Weeks are ISO weeks (Monday to Sunday, UTC), labelled by their Monday; a run counts in the week it started. Actual cost is price per hour × wall-clock
        time of finished runs; “est.” is the launch estimate of runs still pending or running. Range {range}.
      </div>
    </div>
  );
}
