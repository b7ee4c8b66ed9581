/**
 * One run: status timeline with the pending/failure reason in plain words,
 * params, hardware, image and digest, estimated and actual cost, the live log,
 * a chart per metric (live from metric lines in the log while it runs), the files it kept
 * (RunArtifacts) and, for a run fed by a training run's artifacts, a link to that run.
 * Cancel asks first (inline, not window.confirm) and shows what happened.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { LogLine, Run } from '../schemas/runs';
import { FINAL_STATUSES } from '../schemas/runs';
import { useUi } from './context';
import { useAsync, useLiveRun } from './hooks';
import { LogViewer } from './LogViewer';
import { MetricChart } from './MetricChart';
import { RunArtifacts } from './RunArtifacts';
import { mergeLive, summarize, toPoints } from './metrics-model';
import { dateTime, duration, money, num, runSeconds } from './format';
import { describeError, Empty, ErrorState, Loading, StatusBadge } from './states';

export interface RunDetailsProps { runId: string; logHeight?: number }

const isFinal = (s: Run['status']) => (FINAL_STATUSES as readonly string[]).includes(s);

/** Plain words for why a run waits or how it ended. */
export function explainStatus(run: Run): string {
  switch (run.status) {
    case 'Pending': return run.reason ? `Waiting: ${run.reason}` : 'Waiting for the executor to start it.';
    case 'Running': return `Running for ${duration(runSeconds(run))} (stopped after ${duration(run.maxDurationSeconds)}).`;
    case 'Succeeded': return `Finished successfully in ${duration(runSeconds(run))}.`;
    case 'Failed': return `Failed${run.exitCode !== null ? ` with exit code ${run.exitCode}` : ''}${run.reason ? `: ${run.reason}` : '.'}`;
    case 'Cancelled': return `Cancelled${run.reason ? `: ${run.reason}` : '.'}`;
  }
}

function Timeline({ run }: { run: Run }) {
  const final = isFinal(run.status);
  const steps: Array<{ label: string; at: string | null; cls: string; note?: string }> = [
    { label: 'Created', at: run.createdAt, cls: 'ty-muted' },
    { label: 'Pending', at: run.createdAt, cls: run.status === 'Pending' ? 'ty-warn' : 'ty-muted', note: run.status === 'Pending' ? run.reason ?? 'waiting to be started' : undefined },
    { label: 'Running', at: run.startedAt, cls: run.startedAt ? (run.status === 'Running' ? 'ty-info' : 'ty-muted') : 'ty-timeline-future' },
    { label: final ? run.status : 'Finished', at: run.finishedAt, cls: final ? `ty-status-${run.status}` : 'ty-timeline-future', note: final && run.status !== 'Succeeded' ? explainStatus(run) : undefined },
  ];
  return (
    <ol className="ty-timeline" aria-label="Status timeline">
      {steps.map((s) => (
        <li key={s.label} className={s.cls}>
          <div>
            <strong>{s.label}</strong> <span className="ty-muted ty-small">{s.at ? dateTime(s.at) : s.cls === 'ty-timeline-future' ? 'not yet' : ''}</span>
            {s.note ? <div className="ty-small">{s.note}</div> : null}
          </div>
        </li>
      ))}
    </ol>
  );
}

type CancelState = { phase: 'confirm' | 'cancelling' } | { phase: 'done'; run: Run } | { phase: 'error'; message: string };

/** The cancel button, its inline confirmation and its outcome. */
function CancelRun({ run, onCancelled, onClose }: { run: Run; onCancelled(r: Run): void; onClose(): void }) {
  const { client } = useUi();
  const [state, setState] = useState<CancelState>({ phase: 'confirm' });
  const final = isFinal(run.status);
  const confirm = async () => {
    setState({ phase: 'cancelling' });
    try {
      const r = await client.cancelRun(run.id);
      setState({ phase: 'done', run: r });
      onCancelled(r);
    } catch (err) {
      setState({ phase: 'error', message: describeError(err, `run ${run.id}`).detail });
    }
  };
  if (state.phase === 'done') {
    return <div className="ty-banner ty-banner-ok" role="status" data-testid="cancel-result">Cancel requested: the run is {state.run.status}{state.run.reason ? ` (${state.run.reason})` : ''}. Its logs and metrics so far are kept.</div>;
  }
  if (state.phase === 'confirm' && final) {
    return <div className="ty-banner ty-row" role="status" data-testid="cancel-result"><span style={{ flex: 1 }}>The run finished ({run.status}) before it was cancelled.</span><button type="button" className="ty-btn" onClick={onClose}>Dismiss</button></div>;
  }
  if (state.phase !== 'error') {
    return (
      <div className="ty-banner ty-banner-err ty-row" role="alertdialog" aria-label="Confirm cancel" data-testid="cancel-confirm">
        <span style={{ flex: 1 }}>Cancel this run? It is stopped now{run.sweepId ? ' (the other runs of its sweep go on)' : ''}; its logs and metrics so far are kept, and it cannot be resumed.</span>
        <button type="button" className="ty-btn ty-btn-danger" disabled={state.phase === 'cancelling'} onClick={() => void confirm()}>{state.phase === 'cancelling' ? 'Cancelling…' : 'Cancel run'}</button>
        <button type="button" className="ty-btn" disabled={state.phase === 'cancelling'} onClick={onClose}>Keep running</button>
      </div>
    );
  }
  return <div className="ty-banner ty-banner-err ty-row" role="alert" data-testid="cancel-result"><span style={{ flex: 1 }}>Could not cancel: {state.message}</span><button type="button" className="ty-btn" onClick={onClose}>Dismiss</button></div>;
}

export function RunDetails({ runId, logHeight = 420 }: RunDetailsProps) {
  const { client, links } = useUi();
  const [runState, reloadRun] = useLiveRun(client, runId);
  const [askCancel, setAskCancel] = useState(false);
  useEffect(() => setAskCancel(false), [runId]);
  const run = runState.status === 'ok' ? runState.value : null;
  const [version] = useAsync(() => (run ? client.getVersion(run.model, run.version) : new Promise<never>(() => {})), [client, run?.model, run?.version]);
  const [metrics, reloadMetrics, updateMetrics] = useAsync(() => client.getMetrics(runId), [client, runId]);
  const final = run ? isFinal(run.status) : false;
  useEffect(() => { if (final) reloadMetrics(); }, [final, reloadMetrics]);
  const onLines = useCallback((batch: LogLine[]) => updateMetrics((m) => {
    const series = mergeLive(m.series, batch);
    return series === m.series ? m : { ...m, series };
  }), [updateMetrics]);
  const series = metrics.status === 'ok' ? metrics.value.series : [];
  const charts = useMemo(() => series.map((s) => ({ name: s.name, data: [{ label: s.name, points: toPoints(s) }] })), [series]);

  if (runState.status === 'loading') return <Loading label="Loading run…" />;
  if (runState.status === 'error') return <ErrorState error={runState.error} what={`run ${runId}`} onRetry={reloadRun} />;
  const r = runState.value;
  const v = version.status === 'ok' ? version.value : null;
  const canCancel = !final && !askCancel;

  return (
    <div className="ty-stack" data-testid="run-details" data-run-id={r.id} data-status={r.status}>
      <div className="ty-row">
        <h1 className="ty-h1 ty-mono">{r.id}</h1>
        <StatusBadge status={r.status} />
        <span className="ty-spacer" />
        {r.sweepId ? <a href={links.sweep(r.sweepId)}>sweep {r.sweepId}{r.sweepIndex !== null ? ` #${r.sweepIndex + 1}` : ''}</a> : null}
        {canCancel ? <button type="button" className="ty-btn" onClick={() => setAskCancel(true)}>Cancel run…</button> : null}
      </div>
      {askCancel ? <CancelRun key={r.id} run={r} onCancelled={() => reloadRun()} onClose={() => setAskCancel(false)} /> : null}
      <div className={`ty-banner${r.status === 'Failed' ? ' ty-banner-err' : r.status === 'Succeeded' ? ' ty-banner-ok' : ''}`} data-testid="status-explained">{explainStatus(r)}</div>
      <div className="ty-grid" style={{ gridTemplateColumns: 'repeat(auto-fit, minmax(280px, 1fr))' }}>
        <div className="ty-card"><h3 className="ty-h3">Timeline</h3><Timeline run={r} /></div>
        <div className="ty-card">
          <h3 className="ty-h3">What ran</h3>
          <dl className="ty-kv">
            <dt>Model</dt><dd><a href={links.model(r.model)}>{r.model}</a></dd>
            <dt>Version</dt><dd className="ty-mono">{r.version}{v?.git.dirty ? <span className="ty-warn"> ● uncommitted changes</span> : null}</dd>
            <dt>Entrypoint</dt><dd className="ty-mono">{r.entrypoint}</dd>
            <dt>Command</dt><dd className="ty-mono">{r.command}</dd>
            {r.inputRunId ? <><dt>Input</dt><dd data-testid="run-input">the artifacts of run <a className="ty-mono" href={links.run(r.inputRunId)}>{r.inputRunId}</a></dd></> : null}
            <dt>Params</dt><dd className="ty-mono">{Object.keys(r.params).length ? Object.entries(r.params).map(([k, val]) => <div key={k}>{k} = {JSON.stringify(val)}</div>) : <span className="ty-muted">none</span>}</dd>
            <dt>Image</dt><dd className="ty-mono ty-small">{v ? v.imageRef : '…'}</dd>
            <dt>Digest</dt><dd className="ty-mono ty-small">{v ? v.digest : '…'}</dd>
          </dl>
        </div>
        <div className="ty-card">
          <h3 className="ty-h3">Hardware and cost</h3>
          <dl className="ty-kv">
            <dt>Hardware</dt><dd>{r.hardware} <span className="ty-muted">· {money(r.pricePerHour)}/h</span></dd>
            <dt>Executor</dt><dd>{r.executor}</dd>
            <dt>Launched by</dt><dd data-testid="run-created-by">{r.createdBy}</dd>
            <dt>Max duration</dt><dd>{duration(r.maxDurationSeconds)}</dd>
            <dt>Ran for</dt><dd>{duration(runSeconds(r))}</dd>
            <dt>Estimated</dt><dd>{money(r.estimatedCost)}</dd>
            <dt>Actual</dt><dd><strong>{money(r.actualCost)}</strong>{r.actualCost === null && r.startedAt ? <span className="ty-muted"> (so far {money((r.pricePerHour * (runSeconds(r) ?? 0)) / 3600)})</span> : null}</dd>
            <dt>Exit code</dt><dd>{r.exitCode ?? '—'}</dd>
          </dl>
        </div>
      </div>
      <div className="ty-stack">
        <h2 className="ty-h2">Metrics</h2>
        {metrics.status === 'loading' ? <Loading label="Loading metrics…" rows={1} /> : null}
        {metrics.status === 'error' ? <ErrorState error={metrics.error} what="metrics" onRetry={reloadMetrics} /> : null}
        {metrics.status === 'ok' && charts.length === 0 ? (
          <Empty title={final ? 'This run logged no metrics' : 'No metrics yet'} icon="∿">Print <code>::trainyard:metric {'{"name":"loss","value":0.3,"step":1}'}</code> or call <code>trainyard.log_metric()</code>.</Empty>
        ) : null}
        {charts.length ? (
          <>
            <div className="ty-charts">{charts.map((c) => <MetricChart key={c.name} title={c.name} series={c.data} />)}</div>
            <table className="ty-table" aria-label="Metric summary">
              <thead><tr><th>Metric</th><th className="ty-num">Final</th><th className="ty-num">Min</th><th className="ty-num">Max</th><th className="ty-num">Points</th></tr></thead>
              <tbody>{series.map((s) => { const x = summarize(s); return <tr key={s.name} data-metric={s.name}><td>{s.name}</td><td className="ty-num">{num(x.final)}</td><td className="ty-num">{num(x.min)}</td><td className="ty-num">{num(x.max)}</td><td className="ty-num" data-testid={`points-${s.name}`}>{s.points.length}</td></tr>; })}</tbody>
            </table>
          </>
        ) : null}
      </div>
      <RunArtifacts run={r} />
      <div className="ty-stack">
        <h2 className="ty-h2">Logs</h2>
        <LogViewer runId={r.id} height={logHeight} onLines={onLines} />
      </div>
    </div>
  );
}
