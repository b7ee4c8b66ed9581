/**
 * Runs of a model (or all), newest first, filtered by status/model/sweep,
 * sortable, grouped by sweep, live from GET /v1/events (no polling) and
 * windowed so 10,000 runs scroll smoothly. Events are batched into one
 * render per animation frame.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Run, RunStatus } from '../schemas/runs';
import { useUi } from './context';
import { useEvents } from './hooks';
import { useVirtual } from './virtual';
import { buildRows, newerRun, statusSummary, type RunFilter, type SortKey } from './run-list-model';
import { ago, duration, formatParams, money, runSeconds } from './format';
import { Empty, ErrorState, Loading, StatusBadge } from './states';

export interface RunListProps {
  /** fixed filters (the control is hidden) */
  model?: string;
  sweep?: string;
  /** initial status filter */
  status?: RunStatus;
  /** start with only the signed-in person's runs (the "Mine" box; shown when the client has me()) */
  mine?: boolean;
  /** stop loading pages after this many runs */
  maxRuns?: number;
  pageSize?: number;
  height?: number | string;
  rowHeight?: number;
}

const STATUSES: RunStatus[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled'];

export function RunList({ model, sweep, status, mine: mineAtStart = false, maxRuns = 20000, pageSize = 1000, height = 560, rowHeight = 36 }: RunListProps) {
  const { client, links } = useUi();
  const store = useRef(new Map<string, Run>());
  const [version, setVersion] = useState(0);
  const [load, setLoad] = useState<{ state: 'loading' | 'ok' | 'error'; error?: unknown; more?: boolean }>({ state: 'loading' });
  const [filter, setFilter] = useState<RunFilter>({ status: status ?? '', model: model ?? '', sweep: sweep ?? '', text: '' });
  const [sort, setSort] = useState<SortKey>('newest');
  const [group, setGroup] = useState(true);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [now, setNow] = useState(() => Date.now());
  // "mine": GET /v1/me names the person; the server filters pages by createdBy (a backend without /v1/me hides the box)
  const [me, setMe] = useState<string | null>(null);
  const [mine, setMine] = useState(mineAtStart);
  useEffect(() => {
    let live = true;
    client.me?.().then((m) => { if (live) setMe(m.user); }, () => {});
    return () => { live = false; };
  }, [client]);
  const createdBy = mine && me ? me : undefined;
  const frame = useRef(0);
  const bump = useCallback(() => {
    if (frame.current) return;
    const raf = typeof requestAnimationFrame === 'function' ? requestAnimationFrame : (f: FrameRequestCallback) => setTimeout(() => f(0), 16) as unknown as number;
    frame.current = raf(() => { frame.current = 0; setVersion((v) => v + 1); });
  }, []);

  const loadAll = useCallback(async (isLive: () => boolean) => {
    setLoad((l) => ({ ...l, state: store.current.size ? 'ok' : 'loading' }));
    try {
      let cursor: string | undefined;
      let loaded = 0;
      do {
        const page = await client.listRuns({ model: model || undefined, sweep: sweep || undefined, ...(createdBy ? { createdBy } : {}), limit: pageSize, ...(cursor ? { cursor } : {}) });
        if (!isLive()) return;
        for (const r of page.items) {
          // an event may already have brought a newer state
          store.current.set(r.id, newerRun(store.current.get(r.id), r));
        }
        loaded += page.items.length;
        cursor = page.nextCursor ?? undefined;
        bump();
        setLoad({ state: 'ok', more: !!cursor && loaded < maxRuns });
      } while (cursor && loaded < maxRuns);
    } catch (error) {
      if (isLive()) setLoad({ state: 'error', error });
    }
  }, [client, model, sweep, createdBy, pageSize, maxRuns, bump]);

  const liveRef = useRef(0);
  const reload = useCallback(() => { const my = ++liveRef.current; void loadAll(() => liveRef.current === my); }, [loadAll]);
  useEffect(() => { store.current = new Map(); reload(); return () => { liveRef.current++; }; }, [reload]);
  useEffect(() => { const t = setInterval(() => setNow(Date.now()), 5000); return () => clearInterval(t); }, []);

  const stream = useEvents(client, (e) => {
    if (e.kind !== 'run') return;
    const r = e.data;
    if ((model && r.model !== model) || (sweep && r.sweepId !== sweep) || (createdBy && r.createdBy !== createdBy)) return;
    store.current.set(r.id, r);
    bump();
  }, reload);

  const { rows, count } = useMemo(
    () => buildRows(store.current.values(), filter, sort, group, collapsed, now),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [version, filter, sort, group, collapsed, now],
  );
  const models = useMemo(() => [...new Set([...store.current.values()].map((r) => r.model))].sort(), [version]); // eslint-disable-line react-hooks/exhaustive-deps
  const v = useVirtual(rows.length, rowHeight);
  const toggle = (id: string) => setCollapsed((c) => { const n = new Set(c); if (n.has(id)) n.delete(id); else n.add(id); return n; });

  const setF = (patch: Partial<RunFilter>) => setFilter((f) => ({ ...f, ...patch }));
  const total = store.current.size;

  return (
    <section className="ty-runlist ty-stack" aria-label="Runs" data-testid="run-list">
      <div className="ty-row">
        <select className="ty-select" aria-label="Filter by status" value={filter.status ?? ''} onChange={(e) => setF({ status: e.target.value as RunStatus | '' })}>
          <option value="">All statuses</option>
          {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        {model ? null : (
          <select className="ty-select" aria-label="Filter by model" value={filter.model ?? ''} onChange={(e) => setF({ model: e.target.value })}>
            <option value="">All models</option>
            {models.map((m) => <option key={m} value={m}>{m}</option>)}
          </select>
        )}
        {sweep ? null : <input className="ty-input" aria-label="Filter by sweep id" placeholder="sweep id" style={{ width: 150 }} value={filter.sweep ?? ''} onChange={(e) => setF({ sweep: e.target.value.trim() })} />}
        <input className="ty-input" aria-label="Search runs" placeholder="search id, version, params" style={{ flex: '1 1 180px', minWidth: 150, maxWidth: 260 }} value={filter.text ?? ''} onChange={(e) => setF({ text: e.target.value })} />
        <select className="ty-select" aria-label="Sort" value={sort} onChange={(e) => setSort(e.target.value as SortKey)}>
          <option value="newest">Newest first</option>
          <option value="oldest">Oldest first</option>
          <option value="status">By status</option>
          <option value="duration">Longest first</option>
          <option value="cost">Most expensive first</option>
          <option value="model">By model</option>
        </select>
        <label className="ty-row ty-small"><input type="checkbox" checked={group} onChange={(e) => setGroup(e.target.checked)} /> Group by sweep</label>
        {me ? <label className="ty-row ty-small" title={`only runs launched by ${me}`}><input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} /> Mine</label> : null}
        <span className="ty-spacer" />
        <span className="ty-muted ty-small" aria-live="polite" data-testid="run-count">
          {count.toLocaleString('en-US')} of {total.toLocaleString('en-US')} runs{load.more ? ' (loading more…)' : ''} · {stream === 'live' ? <span className="ty-ok">● live</span> : stream === 'down' ? <span className="ty-err">● reconnecting</span> : <span className="ty-muted">● connecting</span>}
        </span>
      </div>
      {load.state === 'loading' && total === 0 ? <Loading label="Loading runs…" /> : null}
      {load.state === 'error' && total === 0 ? <ErrorState error={load.error} what="runs" onRetry={reload} /> : null}
      {load.state === 'ok' && total === 0 ? (
        <Empty title={model ? `No runs of ${model} yet` : 'No runs yet'}>Launch one from the form, or <code>trainyard train {model ?? 'MODEL'}</code>.</Empty>
      ) : null}
      {total > 0 && count === 0 ? <Empty title="No runs match these filters" icon="∅" /> : null}
      {count > 0 ? (
        <>
          <div className="ty-vrow ty-runrow ty-headrow" style={{ position: 'relative', height: 30, border: 0, cursor: 'default' }} aria-hidden>
            <span>Status</span><span>Run</span><span>Version</span><span>Params</span><span>Hardware</span><span>Duration</span><span>Cost</span><span>Created</span>
          </div>
          <div ref={v.ref} className="ty-runlist-scroll" style={{ height }} role="list" aria-label="Run rows" aria-rowcount={rows.length}>
            <div style={{ height: v.total, position: 'relative' }}>
              {rows.slice(v.start, v.end).map((row, k) => {
                const i = v.start + k;
                const style = { top: i * rowHeight, height: rowHeight };
                if (row.kind === 'group') {
                  const cost = row.runs.reduce((s, r) => s + (r.actualCost ?? 0), 0);
                  return (
                    <div key={`g${i % 256}`} role="listitem" className="ty-vrow ty-grouprow" style={style} onClick={() => toggle(row.sweepId)}
                      aria-expanded={!row.collapsed} data-sweep={row.sweepId}>
                      <button type="button" className="ty-btn ty-btn-small" style={{ padding: '0 4px', border: 0, background: 'transparent' }} aria-label={`${row.collapsed ? 'expand' : 'collapse'} sweep ${row.sweepId}`}>{row.collapsed ? '▸' : '▾'}</button>
                      <span>Sweep <a href={links.sweep(row.sweepId)} onClick={(e) => e.stopPropagation()}><code>{row.sweepId}</code></a> <span className="ty-muted">· {row.runs[0].model} · {row.runs.length} runs · {statusSummary(row.runs)}</span></span>
                      <span className="ty-muted ty-small">{money(cost)}</span>
                    </div>
                  );
                }
                const r = row.run;
                return (
                  <a key={`r${i % 256}`} role="listitem" href={links.run(r.id)} className="ty-vrow ty-runrow" style={{ ...style, color: 'inherit', textDecoration: 'none' }}
                    data-run-id={r.id} data-status={r.status} title={r.reason ?? undefined}>
                    <span style={{ paddingLeft: row.inGroup ? 18 : 0 }}><StatusBadge status={r.status} /></span>
                    <span className="ty-mono">{r.id}</span>
                    <span className="ty-mono ty-small" title={`${r.model}:${r.version}`}>{model ? '' : `${r.model}:`}{r.version.length > 9 ? r.version.slice(0, 9) : r.version}</span>
                    <span className="ty-mono ty-small">{formatParams(r.params)}</span>
                    <span className="ty-small">{r.hardware}</span>
                    <span className="ty-small">{duration(runSeconds(r, now))}</span>
                    <span className="ty-small">{money(r.actualCost ?? r.estimatedCost)}{r.actualCost === null && r.estimatedCost !== null ? <span className="ty-muted"> est.</span> : null}</span>
                    <span className="ty-small ty-muted">{ago(r.createdAt, now)}</span>
                  </a>
                );
              })}
            </div>
          </div>
        </>
      ) : null}
    </section>
  );
}
