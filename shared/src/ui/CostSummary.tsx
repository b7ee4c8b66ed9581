/** Cost per model per week (ISO weeks, from each run's actual cost; running runs count what they cost so far). */
import { useMemo } from 'react';
import type { Run } from '../schemas/runs';
import { useUi } from './context';
import { useAsync, useEvents } from './hooks';
import { isoWeek, money, runSeconds } from './format';
import { Empty, ErrorState, Loading } from './states';

async function allRuns(list: (q: { limit: number; cursor?: string }) => Promise<{ items: Run[]; nextCursor: string | null }>, max = 50000): Promise<Run[]> {
  const out: Run[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && out.length < max);
  return out;
}

export function costOf(r: Run, now = Date.now()): number {
  if (r.actualCost !== null) return r.actualCost;
  const s = runSeconds(r, now);
  return s === null ? 0 : (r.pricePerHour * s) / 3600;
}

export function summarizeCosts(runs: Run[], now = Date.now()) {
  const weeks = new Set<string>();
  const byModel = new Map<string, Map<string, number>>();
  for (const r of runs) {
    const w = isoWeek(r.startedAt ?? r.createdAt);
    weeks.add(w);
    const m = byModel.get(r.model) ?? new Map<string, number>();
    m.set(w, (m.get(w) ?? 0) + costOf(r, now));
    byModel.set(r.model, m);
  }
  const weekList = [...weeks].sort().reverse().slice(0, 8);
  const models = [...byModel.entries()].map(([model, m]) => ({ model, weeks: m, total: [...m.values()].reduce((a, b) => a + b, 0) })).sort((a, b) => b.total - a.total);
  return { weekList, models, total: models.reduce((s, m) => s + m.total, 0) };
}

export function CostSummary() {
  const { client, links } = useUi();
  const [state, reload] = useAsync(() => allRuns((q) => client.listRuns(q)), [client]);
  useEvents(client, (e) => { if (e.kind === 'run' && e.data.finishedAt) reload(); }, reload);
  const sum = useMemo(() => (state.status === 'ok' ? summarizeCosts(state.value) : null), [state]);
  if (state.status === 'loading') return <Loading label="Adding up costs…" />;
  if (state.status === 'error') return <ErrorState error={state.error} what="costs" onRetry={reload} />;
  if (!sum || sum.models.length === 0) return <Empty title="No costs yet" icon="$">Costs appear once runs have run.</Empty>;
  return (
    <div className="ty-stack" data-testid="cost-summary">
      <div className="ty-row"><span className="ty-h2" style={{ fontSize: '1.6em' }}>{money(sum.total)}</span><span className="ty-muted">across {sum.models.length} model{sum.models.length === 1 ? '' : 's'}, actual cost (price per hour × wall-clock time)</span></div>
      <div className="ty-card" style={{ padding: 0, overflowX: 'auto' }}>
        <table className="ty-table" aria-label="Cost per model per week">
          <thead><tr><th>Model</th>{sum.weekList.map((w) => <th key={w} className="ty-num">{w}</th>)}<th className="ty-num">Total</th></tr></thead>
          <tbody>
            {sum.models.map((m) => (
              <tr key={m.model}>
                <td><a href={links.model(m.model)}>{m.model}</a></td>
                {sum.weekList.map((w) => <td key={w} className="ty-num">{m.weeks.has(w) ? money(m.weeks.get(w)) : <span className="ty-muted">—</span>}</td>)}
                <td className="ty-num"><strong>{money(m.total)}</strong></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
