/**
 * Launch a run, a sweep or a schedule. The latest version is preselected (with
 * its git SHA and dirty marker); params and sweep axes are typed key/value
 * rows; an entrypoint other than train can use a trained model (fromRun); the grid size,
 * the cron preview and the live cost estimate
 * (POST /v1/runs/estimate, debounced) update as you type. Validation uses the
 * shared LaunchRequest schema, with each message next to its field.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { Version } from '../schemas/models';
import type { Estimate } from '../schemas/launch';
import type { LaunchResult } from '../schemas/launch-result';
import type { HardwareWithAvailability } from '../schemas/hardware';
import { useUi } from './context';
import { useAsync } from './hooks';
import { HardwarePicker } from './HardwarePicker';
import { KeyValueEditor } from './KeyValueEditor';
import { TrainedModelPicker } from './TrainedModelPicker';
import { buildRequest, cronPreview, emptyForm, formatFireTime, gridSize, type LaunchFormState } from './launch-model';
import { duration, money, dateTime } from './format';
import { describeError, Empty, ErrorState, Loading } from './states';

export interface LaunchFormProps {
  /** preselect this model; otherwise the first one */
  model?: string;
  /** called after a successful launch */
  onLaunched?(result: LaunchResult): void;
  /** debounce for the estimate, ms */
  estimateDelayMs?: number;
}

function versionLabel(v: Version, latest: boolean): string {
  const sha = v.git.sha ? `git ${v.git.sha.slice(0, 7)}` : 'no git';
  return `${v.label} · ${sha}${v.git.dirty ? ' · ● uncommitted changes' : ''}${latest ? ' · latest' : ''}`;
}

export function LaunchForm({ model: initialModel, onLaunched, estimateDelayMs = 350 }: LaunchFormProps) {
  const { client, links } = useUi();
  const [form, setForm] = useState<LaunchFormState>(() => ({ ...emptyForm(), model: initialModel ?? '' }));
  const set = useCallback((patch: Partial<LaunchFormState>) => setForm((f) => ({ ...f, ...patch })), []);
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const touch = (field: string) => setTouched((t) => (t.has(field) ? t : new Set(t).add(field)));
  const [submitted, setSubmitted] = useState(false);

  const [models, reloadModels] = useAsync(() => client.listModels().then((r) => r.items), [client]);
  useEffect(() => {
    if (models.status === 'ok' && !form.model && models.value[0]) set({ model: models.value[0].name });
  }, [models, form.model, set]);
  const [versions] = useAsync(
    () => (form.model ? client.listVersions(form.model).then((r) => [...r.items].sort((a, b) => b.createdAt.localeCompare(a.createdAt))) : Promise.resolve([] as Version[])),
    [client, form.model],
  );
  const latest = models.status === 'ok' ? models.value.find((m) => m.name === form.model)?.latestVersion ?? null : null;
  useEffect(() => {
    if (versions.status !== 'ok' || versions.value.length === 0) return;
    if (!versions.value.some((v) => v.label === form.version)) set({ version: latest ?? versions.value[0].label });
  }, [versions, latest, form.version, set]);
  const version = versions.status === 'ok' ? versions.value.find((v) => v.label === form.version) : undefined;
  const entrypoints = version ? Object.keys(version.entrypoints) : ['train'];
  useEffect(() => {
    if (version && !(form.entrypoint in version.entrypoints)) set({ entrypoint: 'train' in version.entrypoints ? 'train' : Object.keys(version.entrypoints)[0] });
  }, [version, form.entrypoint, set]);

  const { request, errors } = useMemo(() => buildRequest(form), [form]);
  const valid = Object.keys(errors).length === 0 && !!form.model;
  const show = (field: string) => (submitted || touched.has(field) ? errors[field] : undefined);
  const runs = gridSize(form.axes.map((a) => ({ ...a })));

  // live estimate
  const [estimate, setEstimate] = useState<{ state: 'idle' | 'loading' | 'ok' | 'error'; value?: Estimate; error?: string }>({ state: 'idle' });
  const reqKey = JSON.stringify(request);
  useEffect(() => {
    if (!valid) { setEstimate({ state: 'idle' }); return; }
    let live = true;
    setEstimate((e) => ({ ...e, state: 'loading' }));
    const t = setTimeout(() => {
      client.estimate(request).then(
        (value) => { if (live) setEstimate({ state: 'ok', value }); },
        (err) => { if (live) setEstimate({ state: 'error', error: describeError(err, 'an estimate').detail }); },
      );
    }, estimateDelayMs);
    return () => { live = false; clearTimeout(t); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reqKey, valid, client, estimateDelayMs]);

  const [launching, setLaunching] = useState(false);
  const [result, setResult] = useState<LaunchResult | null>(null);
  const [submitError, setSubmitError] = useState<{ field: string | null; message: string } | null>(null);
  const idem = useRef<string | null>(null);
  useEffect(() => { idem.current = null; }, [reqKey]);
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (!valid || launching) return;
    setLaunching(true);
    setSubmitError(null);
    idem.current ??= `ui-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    try {
      const res = await client.launch({ ...request, idempotencyKey: idem.current });
      setResult(res);
      onLaunched?.(res);
    } catch (err) {
      const msg = describeError(err, 'the launch').detail;
      const m = /^body\.(\w+)/.exec(msg);
      setSubmitError({ field: m ? ({ maxDurationMinutes: 'maxDuration' } as Record<string, string>)[m[1]] ?? m[1] : null, message: msg });
    } finally {
      setLaunching(false);
    }
  };
  const onHwLoaded = useCallback((items: HardwareWithAvailability[]) => {
    setForm((f) => (f.hardware ? f : { ...f, hardware: (items.find((h) => h.availability.status === 'fits-now') ?? items.find((h) => h.availability.status !== 'cannot-fit'))?.name ?? '' }));
  }, []);

  if (models.status === 'loading') return <Loading label="Loading models…" />;
  if (models.status === 'error') return <ErrorState error={models.error} what="models" onRetry={reloadModels} />;
  if (models.value.length === 0) {
    return <Empty title="No models yet">Save one first: <code>trainyard save PATH --model NAME</code>, or Save Model in your editor.</Empty>;
  }
  const fieldError = (field: string) => {
    const msg = show(field) ?? (submitError?.field === field ? submitError.message : undefined);
    return msg ? <div id={`ty-launch-${field}-error`} className="ty-field-error" role="alert">{msg}</div> : null;
  };
  const inv = (field: string) => ({ 'aria-invalid': !!show(field), 'aria-describedby': show(field) ? `ty-launch-${field}-error` : undefined });
  const preview = form.scheduleOn ? cronPreview(form.schedule, form.timezone.trim() || 'UTC') : null;
  const paramErrors = Object.fromEntries(form.params.map((_, i) => [i, show(`param:${i}`)]));
  const axisErrors = Object.fromEntries(form.axes.map((_, i) => [i, show(`axis:${i}`)]));

  return (
    <form className="ty-stack" onSubmit={onSubmit} noValidate aria-label="Launch">
      <div className="ty-card ty-stack">
        <div className="ty-row" style={{ alignItems: 'flex-start', gap: 16 }}>
          <div className="ty-field" style={{ minWidth: 200 }}>
            <label htmlFor="ty-launch-model">Model</label>
            <select id="ty-launch-model" className="ty-select" value={form.model} {...inv('model')}
              onChange={(e) => { set({ model: e.target.value, version: '', fromRun: '' }); touch('model'); }}>
              {models.value.map((m) => <option key={m.name} value={m.name}>{m.name}</option>)}
            </select>
            {fieldError('model')}
          </div>
          <div className="ty-field" style={{ flex: 1, minWidth: 260 }}>
            <label htmlFor="ty-launch-version">Version</label>
            <select id="ty-launch-version" className="ty-select ty-mono" value={form.version} disabled={versions.status !== 'ok' || versions.value.length === 0}
              {...inv('version')} onChange={(e) => { set({ version: e.target.value }); touch('version'); }}>
              {versions.status === 'ok' && versions.value.length === 0 ? <option value="">no versions yet</option> : null}
              {versions.status === 'ok' ? versions.value.map((v) => <option key={v.label} value={v.label}>{versionLabel(v, v.label === latest)}</option>) : <option>loading…</option>}
            </select>
            {version ? <div className="ty-hint ty-mono">{version.digest.slice(0, 19)}… · saved {dateTime(version.createdAt)}{version.git.dirty ? ' · has uncommitted changes' : ''}</div> : null}
            {fieldError('version')}
          </div>
          <div className="ty-field" style={{ minWidth: 140 }}>
            <label htmlFor="ty-launch-entrypoint">Entrypoint</label>
            <select id="ty-launch-entrypoint" className="ty-select ty-mono" value={form.entrypoint} {...inv('entrypoint')} onChange={(e) => set({ entrypoint: e.target.value })}>
              {entrypoints.map((n) => <option key={n} value={n}>{n}</option>)}
            </select>
            {version?.entrypoints[form.entrypoint] ? <div className="ty-hint ty-mono">{version.entrypoints[form.entrypoint]}</div> : null}
            {fieldError('entrypoint')}
          </div>
        </div>
        {form.entrypoint !== 'train' ? (
          <TrainedModelPicker model={form.model} value={form.fromRun} onChange={(fromRun) => set({ fromRun })}
            error={show('fromRun') ?? (submitError?.field === 'fromRun' ? submitError.message : undefined)} />
        ) : null}
      </div>

      <div className="ty-card ty-stack">
        <h3 className="ty-h3">Hardware</h3>
        <HardwarePicker value={form.hardware || null} onChange={(hardware) => set({ hardware })} onLoaded={onHwLoaded} />
        {fieldError('hardware')}
      </div>

      <div className="ty-card ty-stack">
        <KeyValueEditor label="Params" idPrefix="ty-param" rows={form.params} errors={paramErrors} valuePlaceholder="value" addLabel="param"
          onChange={(params) => { set({ params }); params.forEach((_, i) => touch(`param:${i}`)); }} />
        <KeyValueEditor label="Sweep axes" idPrefix="ty-axis" rows={form.axes.map((a) => ({ key: a.key, type: a.type, value: a.values }))} errors={axisErrors}
          valuePlaceholder="values, comma-separated: sfo, nyc, sea" addLabel="sweep axis"
          onChange={(rows) => { set({ axes: rows.map((r) => ({ key: r.key, type: r.type, values: r.value })) }); rows.forEach((_, i) => touch(`axis:${i}`)); }} />
        <div className="ty-hint" aria-live="polite" data-testid="grid-size">
          {form.axes.some((a) => a.key.trim())
            ? <>This sweep makes <strong>{runs.toLocaleString('en-US')} run{runs === 1 ? '' : 's'}</strong> ({form.axes.filter((a) => a.key.trim()).map((a) => `${a.key.trim()}: ${new Set(a.values.split(',').map((v) => v.trim()).filter(Boolean)).size}`).join(' × ')}).</>
            : <>One run. Add a sweep axis to launch one run per point of a grid.</>}
        </div>
        <div className="ty-row" style={{ alignItems: 'flex-start', gap: 16 }}>
          <div className="ty-field">
            <label htmlFor="ty-launch-parallelism">Parallelism</label>
            <input id="ty-launch-parallelism" className="ty-input" style={{ width: 120 }} inputMode="numeric" placeholder="all at once" value={form.parallelism}
              {...inv('parallelism')} onChange={(e) => set({ parallelism: e.target.value })} onBlur={() => touch('parallelism')} />
            <div className="ty-hint">runs of the sweep at a time</div>
            {fieldError('parallelism')}
          </div>
          <div className="ty-field">
            <label htmlFor="ty-launch-maxDuration">Max duration (minutes)</label>
            <input id="ty-launch-maxDuration" className="ty-input" style={{ width: 120 }} inputMode="numeric" placeholder="default" value={form.maxDuration}
              {...inv('maxDuration')} onChange={(e) => set({ maxDuration: e.target.value })} onBlur={() => touch('maxDuration')} />
            <div className="ty-hint">a run is stopped after this</div>
            {fieldError('maxDuration')}
          </div>
        </div>
      </div>

      <div className="ty-card ty-stack">
        <label className="ty-row ty-label"><input type="checkbox" checked={form.scheduleOn} onChange={(e) => set({ scheduleOn: e.target.checked })} /> Repeat on a schedule</label>
        {form.scheduleOn ? (
          <div className="ty-row" style={{ alignItems: 'flex-start', gap: 16 }}>
            <div className="ty-field">
              <label htmlFor="ty-launch-schedule">Cron rule</label>
              <input id="ty-launch-schedule" className="ty-input ty-mono" style={{ width: 200 }} value={form.schedule} {...inv('schedule')}
                onChange={(e) => { set({ schedule: e.target.value }); touch('schedule'); }} />
              {fieldError('schedule')}
            </div>
            <div className="ty-field">
              <label htmlFor="ty-launch-tz">Time zone</label>
              <input id="ty-launch-tz" className="ty-input" style={{ width: 160 }} value={form.timezone} onChange={(e) => set({ timezone: e.target.value })} />
            </div>
            <fieldset className="ty-field" data-testid="schedule-version-policy" style={{ border: 0, padding: 0, margin: 0 }}>
              <legend className="ty-label">Each fire runs</legend>
              <label className="ty-row"><input type="radio" name="ty-launch-version-policy" checked={form.versionPolicy === 'latest'} onChange={() => set({ versionPolicy: 'latest' })} /> the latest version at fire time</label>
              <label className="ty-row"><input type="radio" name="ty-launch-version-policy" checked={form.versionPolicy === 'pinned'} onChange={() => set({ versionPolicy: 'pinned' })} /> {form.version ? <>version <span className="ty-mono">{form.version}</span>, always</> : 'today’s latest version, always'}</label>
            </fieldset>
            {preview && 'words' in preview ? (
              <div className="ty-field" data-testid="cron-preview">
                <span className="ty-label">Fires {preview.words}</span>
                <ul className="ty-hint" style={{ margin: 0, paddingLeft: 18 }}>{preview.next.map((d) => <li key={d.getTime()}>{formatFireTime(d, form.timezone.trim() || 'UTC')}</li>)}</ul>
              </div>
            ) : null}
          </div>
        ) : null}
      </div>

      <div className="ty-card ty-row" style={{ alignItems: 'center', gap: 16 }}>
        <div style={{ flex: 1 }} aria-live="polite" data-testid="estimate">
          {estimate.state === 'idle' ? <span className="ty-muted">The cost estimate appears when the form is valid.</span> : null}
          {estimate.state === 'loading' && !estimate.value ? <span className="ty-muted">Estimating…</span> : null}
          {estimate.state === 'error' ? <span className="ty-err">No estimate: {estimate.error}</span> : null}
          {estimate.value && estimate.state !== 'error' && estimate.state !== 'idle' ? (
            <div style={{ opacity: estimate.state === 'loading' ? 0.6 : 1 }}>
              <div><span className="ty-h2" style={{ fontSize: '1.3em' }}>{money(estimate.value.totalCost)}</span> <span className="ty-muted">estimated</span></div>
              <div className="ty-hint">
                {estimate.value.runs} run{estimate.value.runs === 1 ? '' : 's'} × {money(estimate.value.pricePerHour)}/h ({estimate.value.hardware}) × {duration(estimate.value.expectedSecondsPerRun)} each —{' '}
                {estimate.value.basis === 'median-of-past-runs' ? `median of ${estimate.value.pastRuns} past successful run${estimate.value.pastRuns === 1 ? '' : 's'}` : 'the max duration (no past runs to go by)'}
              </div>
            </div>
          ) : null}
        </div>
        <button type="submit" className="ty-btn ty-btn-primary" disabled={launching} style={{ padding: '8px 18px' }}>
          {launching ? 'Launching…' : form.scheduleOn ? 'Create schedule' : runs > 1 ? `Launch ${runs} runs` : 'Launch run'}
        </button>
      </div>
      {submitted && !valid ? <div className="ty-banner ty-banner-err" role="alert">Fix the fields marked above to launch.</div> : null}
      {submitError && !submitError.field ? <div className="ty-banner ty-banner-err" role="alert">{submitError.message}</div> : null}
      {result ? (
        <div className="ty-banner ty-banner-ok" role="status" data-testid="launch-result">
          {result.schedule ? <div>Created schedule <code>{result.schedule.id}</code>; it next fires {result.schedule.nextFireAt ? dateTime(result.schedule.nextFireAt) : 'soon'}.</div> : null}
          {result.sweep ? <div>Launched sweep <a href={links.sweep(result.sweep.id)}><code>{result.sweep.id}</code></a> with {result.runs.length} runs.</div> : null}
          {!result.sweep && result.runs.length === 1 ? <div>Launched run <a href={links.run(result.runs[0].id)}><code>{result.runs[0].id}</code></a>.</div> : null}
          {result.runs.length > 1 ? (
            <ul style={{ margin: '4px 0 0', paddingLeft: 18 }}>
              {result.runs.slice(0, 20).map((r) => <li key={r.id}><a href={links.run(r.id)}><code>{r.id}</code></a> <span className="ty-muted">{Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' ')}</span></li>)}
            </ul>
          ) : null}
          <div className="ty-hint">Estimated {money(result.estimate.totalCost)}.</div>
        </div>
      ) : null}
    </form>
  );
}
