/**
 * A sweep: its members (live), each metric with the members overlaid, and a
 * sortable table of every run's final and best values. Which end is best
 * (min or max) is chosen per metric: the name-based guess by default, said
 * as a guess, and changeable above the table. Metrics are loaded for
 * up to `maxOverlay` members and reloaded as each one finishes.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { MetricSeries, Run } from '../schemas/runs';
import { FINAL_STATUSES } from '../schemas/runs';
import { useUi } from './context';
import { useEvents } from './hooks';
import { MetricChart } from './MetricChart';
import { guessDirection, summarize, toPoints, type Direction } from './metrics-model';
import { formatParams, money, num } from './format';
import { Empty, ErrorState, Loading, StatusBadge } from './states';
import { newerRun, statusSummary } from './run-list-model';

export interface SweepViewProps { sweepId: string; maxOverlay?: number }

type SortBy = { col: string; dir: 1 | -1 };

/** reads of one run's metrics before a failure is shown, and the wait before the second (doubling) */
const METRIC_TRIES = 3;
const METRIC_RETRY_MS = 500;

export function SweepView({ sweepId, maxOverlay = 40 }: SweepViewProps) {
  const { client, links } = useUi();
  const [runs, setRuns] = useState<Map<string, Run>>(new Map());
  const [state, setState] = useState<{ phase: 'loading' | 'ok' | 'error'; error?: unknown }>({ phase: 'loading' });
  const [metrics, setMetrics] = useState<Map<string, MetricSeries[]>>(new Map());
  const [sort, setSort] = useState<SortBy>({ col: 'index', dir: 1 });
  const [chosen, setChosen] = useState<Record<string, Direction>>({});
  const dirOf = useCallback((name: string): Direction => chosen[name] ?? guessDirection(name), [chosen]);
  const loadedFinal = useRef(new Set<string>());
  // a run's metrics that could not be read after METRIC_TRIES tries: the reason, shown where the charts go
  const [metricsError, setMetricsError] = useState<unknown>(null);
  const mounted = useRef(true);
  useEffect(() => { mounted.current = true; return () => { mounted.current = false; }; }, []);

  const loadMetrics = useCallback((ids: string[]) => {
    for (const id of ids) {
      // a failed read (a dropped connection, a backend restarting) is tried again before the sweep says so
      const attempt = (n: number) => client.getMetrics(id).then(
        (m) => { if (mounted.current) setMetrics((prev) => new Map(prev).set(id, m.series)); },
        (error: unknown) => {
          if (!mounted.current) return;
          if (n + 1 < METRIC_TRIES) setTimeout(() => attempt(n + 1), METRIC_RETRY_MS * 2 ** n);
          else setMetricsError(error);
        },
      );
      void attempt(0);
    }
  }, [client]);

  const load = useCallback(() => {
    client.listRuns({ sweep: sweepId, limit: 1000 }).then(
      (page) => {
        // an event that arrived while the page was read may be newer than the page
        setRuns((prev) => new Map(page.items.map((r) => [r.id, newerRun(prev.get(r.id), r)])));
        setState({ phase: 'ok' });
        const members = [...page.items].sort((a, b) => (a.sweepIndex ?? 0) - (b.sweepIndex ?? 0)).slice(0, maxOverlay);
        for (const r of members) if ((FINAL_STATUSES as readonly string[]).includes(r.status)) loadedFinal.current.add(r.id);
        loadMetrics(members.map((r) => r.id));
      },
      (error) => setState({ phase: 'error', error }),
    );
  }, [client, sweepId, maxOverlay, loadMetrics]);
  useEffect(load, [load]);
  useEvents(client, (e) => {
    if (e.kind !== 'run' || e.data.sweepId !== sweepId) return;
    const r = e.data;
    setRuns((prev) => new Map(prev).set(r.id, r));
    if ((FINAL_STATUSES as readonly string[]).includes(r.status) && !loadedFinal.current.has(r.id) && (r.sweepIndex ?? 0) < maxOverlay) {
      loadedFinal.current.add(r.id);
      loadMetrics([r.id]);
    }
  }, load);

  const members = useMemo(() => [...runs.values()].sort((a, b) => (a.sweepIndex ?? 0) - (b.sweepIndex ?? 0)), [runs]);
  const names = useMemo(() => [...new Set([...metrics.values()].flatMap((s) => s.map((x) => x.name)))].sort(), [metrics]);
  const charts = useMemo(() => names.map((name) => ({
    name,
    series: members.flatMap((r) => {
      const s = metrics.get(r.id)?.find((x) => x.name === name);
      return s ? [{ label: formatParams(r.params) || r.id, points: toPoints(s) }] : [];
    }),
  })), [names, members, metrics]);

  const table = useMemo(() => {
    const rows = members.map((r) => {
      const vals: Record<string, number | null> = {};
      for (const n of names) {
        const s = metrics.get(r.id)?.find((x) => x.name === n);
        const sum = s ? summarize(s, dirOf(n)) : { final: null, best: null };
        vals[`${n}:final`] = sum.final;
        vals[`${n}:best`] = sum.best;
      }
      return { run: r, vals };
    });
    const key = (row: (typeof rows)[number]): number | string =>
      sort.col === 'index' ? row.run.sweepIndex ?? 0 : sort.col === 'status' ? row.run.status : sort.col === 'cost' ? row.run.actualCost ?? -1 : row.vals[sort.col] ?? Number.NaN;
    return rows.sort((a, b) => {
      const x = key(a), y = key(b);
      if (typeof x === 'number' && Number.isNaN(x)) return 1;
      if (typeof y === 'number' && Number.isNaN(y)) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
    });
  }, [members, names, metrics, sort, dirOf]);

  if (state.phase === 'loading') return <Loading label="Loading sweep…" />;
  if (state.phase === 'error') return <ErrorState error={state.error} what={`sweep ${sweepId}`} onRetry={load} />;
  if (members.length === 0) return <Empty title={`Sweep ${sweepId} has no runs`} />;

  const th = (col: string, label: string, numeric = true) => (
    <th key={col} className={numeric ? 'ty-num' : undefined} aria-sort={sort.col === col ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
      <button type="button" onClick={() => setSort((s) => ({ col, dir: s.col === col ? ((-s.dir) as 1 | -1) : col.endsWith(':best') || col.endsWith(':final') ? (dirOf(col.slice(0, col.lastIndexOf(':'))) === 'max' ? -1 : 1) : 1 }))}>
        {label}{sort.col === col ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
      </button>
    </th>
  );
  const first = members[0];
  const cost = members.reduce((s, r) => s + (r.actualCost ?? 0), 0);

  return (
    <div className="ty-stack" data-testid="sweep-view">
      <div className="ty-row">
        <h1 className="ty-h1">Sweep <span className="ty-mono">{sweepId}</span></h1>
        <span className="ty-spacer" />
        <span className="ty-muted">{statusSummary(members)} · {money(cost)}</span>
      </div>
      <div className="ty-muted">
        <a href={links.model(first.model)}>{first.model}</a>:<span className="ty-mono">{first.version}</span> · {first.entrypoint} · {first.hardware} · {members.length} runs
      </div>
      {charts.length ? <div className="ty-charts">{charts.map((c) => <MetricChart key={c.name} title={c.name} series={c.series} />)}</div>
        : metricsError ? <ErrorState error={metricsError} what={`the metrics of sweep ${sweepId}`} onRetry={() => { setMetricsError(null); loadMetrics(members.slice(0, maxOverlay).map((r) => r.id)); }} />
        : <Empty title="No metrics yet" icon="∿">Charts appear as the runs log metrics.</Empty>}
      {names.length ? (
        <div className="ty-row ty-small" data-testid="best-directions">
          <span className="ty-muted">Best means:</span>
          {names.map((n) => (
            <label key={n} className="ty-row" style={{ gap: 4 }}>
              <span className="ty-mono">{n}</span>
              <select className="ty-select ty-small" aria-label={`Best ${n}`} value={dirOf(n)} onChange={(e) => setChosen((c) => ({ ...c, [n]: e.target.value as Direction }))}>
                <option value="min">lowest (min){chosen[n] === undefined && guessDirection(n) === 'min' ? ' — guessed from the name' : ''}</option>
                <option value="max">highest (max){chosen[n] === undefined && guessDirection(n) === 'max' ? ' — guessed from the name' : ''}</option>
              </select>
            </label>
          ))}
        </div>
      ) : null}
      <div className="ty-card" style={{ overflowX: 'auto', padding: 0 }}>
        <table className="ty-table" aria-label="Sweep runs">
          <thead>
            <tr>
              {th('index', '#')}
              <th>Run</th>
              <th>Params</th>
              {th('status', 'Status', false)}
              {names.flatMap((n) => [th(`${n}:final`, `${n} final`), th(`${n}:best`, `${n} best (${dirOf(n)})`)])}
              {th('cost', 'Cost')}
            </tr>
          </thead>
          <tbody>
            {table.map(({ run, vals }) => (
              <tr key={run.id}>
                <td className="ty-num">{(run.sweepIndex ?? 0) + 1}</td>
                <td><a href={links.run(run.id)} className="ty-mono">{run.id}</a></td>
                <td className="ty-mono ty-small">{formatParams(run.params)}</td>
                <td><StatusBadge status={run.status} /></td>
                {names.flatMap((n) => [<td key={`${n}f`} className="ty-num">{num(vals[`${n}:final`])}</td>, <td key={`${n}b`} className="ty-num">{num(vals[`${n}:best`])}</td>])}
                <td className="ty-num">{money(run.actualCost)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
