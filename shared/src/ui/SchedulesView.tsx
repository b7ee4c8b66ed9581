/**
 * Schedules: each cron rule in plain words with its next fire times (the launch
 * form's cronPreview), the time zone, what it launches (entrypoint, hardware,
 * params, sweep size), its last and next fire, and delete with an inline
 * confirmation. Live from `schedule` events (created, fired, deleted).
 */
import { useState } from 'react';
import type { Schedule } from '../schemas/schedules';
import type { LaunchRequest } from '../schemas/launch';
import { useUi } from './context';
import { useAsync, useEvents } from './hooks';
import { cronPreview, formatFireTime } from './launch-model';
import { ago, dateTime, formatParams } from './format';
import { describeError, Empty, ErrorState, Loading } from './states';

/** What a schedule launches, in one line: entrypoint, hardware, params, sweep size. */
export function describeRequest(r: LaunchRequest): { entrypoint: string; hardware: string; params: string; sweep: string } {
  const axes = r.sweep ? Object.entries(r.sweep) : [];
  const size = axes.reduce((n, [, v]) => n * v.length, 1);
  return {
    entrypoint: r.entrypoint ?? 'train',
    hardware: r.hardware ?? 'the default hardware',
    params: r.params && Object.keys(r.params).length ? formatParams(r.params) : 'no params',
    sweep: axes.length
      ? `sweep of ${size.toLocaleString('en-US')} run${size === 1 ? '' : 's'} (${axes.map(([k, v]) => `${k}: ${v.length}`).join(' × ')})${r.parallelism ? `, ${r.parallelism} at a time` : ''}`
      : 'one run',
  };
}

export function ScheduleList() {
  const { client } = useUi();
  const [state, reload, update] = useAsync(() => client.listSchedules().then((r) => r.items), [client]);
  useEvents(client, (e) => {
    if (e.kind !== 'schedule') return;
    const d = e.data;
    update((items) => ('deleted' in d ? items.filter((s) => s.id !== d.id) : items.some((s) => s.id === d.id) ? items.map((s) => (s.id === d.id ? d : s)) : [d, ...items]));
  }, reload);
  if (state.status === 'loading') return <Loading label="Loading schedules…" />;
  if (state.status === 'error') return <ErrorState error={state.error} what="schedules" onRetry={reload} />;
  if (state.value.length === 0) {
    return (
      <Empty title="No schedules yet" icon="⟳">
        A schedule launches a run or a sweep again and again, held by the backend (no editor needs to stay open).
        Create one from <a href="#/launch">Launch</a> with “Repeat on a schedule”, or with{' '}
        <code>trainyard train MODEL --schedule '0 3 * * 1'</code>.
      </Empty>
    );
  }
  const items = [...state.value].sort((a, b) => (a.nextFireAt ?? '9').localeCompare(b.nextFireAt ?? '9'));
  return (
    <div className="ty-stack" data-testid="schedule-list">
      <div className="ty-muted">{items.length} schedule{items.length === 1 ? '' : 's'}, soonest first. Fire times are shown in each schedule's time zone.</div>
      {items.map((s) => <ScheduleCard key={s.id} schedule={s} onDeleted={(id) => update((xs) => xs.filter((x) => x.id !== id))} />)}
    </div>
  );
}

function ScheduleCard({ schedule: s, onDeleted }: { schedule: Schedule; onDeleted(id: string): void }) {
  const { client, links } = useUi();
  const [phase, setPhase] = useState<'idle' | 'confirm' | 'deleting'>('idle');
  const [error, setError] = useState<string | null>(null);
  const preview = cronPreview(s.cron, s.timezone, 3);
  const req = describeRequest(s.request);
  const del = async () => {
    setPhase('deleting');
    setError(null);
    try {
      await client.deleteSchedule(s.id);
      onDeleted(s.id);
    } catch (err) {
      setError(describeError(err, `schedule ${s.id}`).detail);
      setPhase('idle');
    }
  };
  return (
    <section className="ty-card ty-stack" aria-label={`Schedule ${s.id}`} data-schedule-id={s.id}>
      <div className="ty-row">
        <a href={links.model(s.model)} className="ty-h2" style={{ margin: 0 }}>{s.model}</a>
        <span className="ty-muted ty-mono ty-small">{s.id}</span>
        {!s.enabled ? <span className="ty-badge ty-status-Cancelled">paused</span> : null}
        <span className="ty-spacer" />
        {phase === 'idle' ? <button type="button" className="ty-btn ty-btn-small" onClick={() => setPhase('confirm')}>Delete…</button> : null}
      </div>
      {phase !== 'idle' ? (
        <div className="ty-banner ty-banner-err ty-row" role="alertdialog" aria-label="Confirm delete">
          <span style={{ flex: 1 }}>Delete this schedule? It stops firing; runs it already launched are kept.</span>
          <button type="button" className="ty-btn ty-btn-danger" disabled={phase === 'deleting'} onClick={() => void del()}>{phase === 'deleting' ? 'Deleting…' : 'Delete schedule'}</button>
          <button type="button" className="ty-btn" disabled={phase === 'deleting'} onClick={() => setPhase('idle')}>Keep it</button>
        </div>
      ) : null}
      {error ? <div className="ty-banner ty-banner-err" role="alert">Could not delete: {error}</div> : null}
      <div className="ty-grid" style={{ gridTemplateColumns: 'repeat(auto-fit, minmax(300px, 1fr))' }}>
        <div>
          <h3 className="ty-h3">When</h3>
          {'words' in preview ? <div data-testid="schedule-words">Fires {preview.words}</div> : <div className="ty-err">{preview.error}</div>}
          <div className="ty-hint"><code>{s.cron}</code> · time zone {s.timezone}</div>
          {'next' in preview ? (
            <ul className="ty-hint" style={{ margin: '4px 0 0', paddingLeft: 18 }} aria-label="Next fire times">
              {preview.next.map((d) => <li key={d.getTime()}>{formatFireTime(d, s.timezone)}</li>)}
            </ul>
          ) : null}
        </div>
        <div>
          <h3 className="ty-h3">Launches</h3>
          <dl className="ty-kv">
            <dt>Version</dt><dd data-testid="schedule-version">{s.versionPolicy === 'pinned' && s.request.version ? <><span className="ty-mono">{s.request.version}</span> <span className="ty-muted">(pinned)</span></> : 'the latest at each fire'}</dd>
            <dt>Entrypoint</dt><dd className="ty-mono">{req.entrypoint}</dd>
            <dt>Hardware</dt><dd>{req.hardware}</dd>
            <dt>Params</dt><dd className="ty-mono ty-small">{req.params}</dd>
            <dt>Runs</dt><dd data-testid="schedule-size">{req.sweep}</dd>
          </dl>
        </div>
        <div>
          <h3 className="ty-h3">Fires</h3>
          <dl className="ty-kv">
            <dt>Next</dt><dd>{s.nextFireAt ? formatFireTime(new Date(s.nextFireAt), s.timezone) : '—'}</dd>
            <dt>Last</dt><dd>{s.lastFireAt ? <>{formatFireTime(new Date(s.lastFireAt), s.timezone)} <span className="ty-muted">({ago(s.lastFireAt)})</span></> : <span className="ty-muted">not yet</span>}</dd>
            {s.lastError ? <><dt>Last error</dt><dd className="ty-err" data-testid="schedule-last-error">{s.lastError}</dd></> : null}
            <dt>Created</dt><dd>{dateTime(s.createdAt)} <span className="ty-muted">by {s.createdBy}</span></dd>
          </dl>
        </div>
      </div>
    </section>
  );
}
