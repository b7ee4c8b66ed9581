/**
 * The launch form's "Use a trained model" field (entrypoints other than train): none, the
 * model's latest succeeded training run (resolved by the backend at each launch, so a schedule
 * keeps using the newest model), or one specific succeeded training run. Sent as `fromRun`;
 * the chosen run's artifacts are in TRAINYARD_INPUT_DIR before the entrypoint starts.
 */
import type { Run } from '../schemas/runs';
import { useUi } from './context';
import { useAsync } from './hooks';
import { ago } from './format';

export interface TrainedModelPickerProps {
  model: string;
  value: string;
  onChange(value: string): void;
  error?: string;
}

/** the model's succeeded train runs, newest first (the API has no entrypoint filter: the newest 200 succeeded runs are looked at) */
async function trainRuns(list: (q: { model: string; status: 'Succeeded'; limit: number }) => Promise<{ items: Run[] }>, model: string): Promise<Run[]> {
  const page = await list({ model, status: 'Succeeded', limit: 200 });
  return page.items.filter((r) => r.entrypoint === 'train');
}

export function TrainedModelPicker({ model, value, onChange, error }: TrainedModelPickerProps) {
  const { client } = useUi();
  const [runs] = useAsync(() => (model ? trainRuns((q) => client.listRuns(q), model) : Promise.resolve([])), [client, model]);
  const items = runs.status === 'ok' ? runs.value : [];
  const known = value === '' || value === 'latest' || items.some((r) => r.id === value);
  return (
    <div className="ty-field" style={{ minWidth: 280, maxWidth: 640 }}>
      <label htmlFor="ty-launch-fromRun">Use a trained model</label>
      <select id="ty-launch-fromRun" className="ty-select" value={value} aria-invalid={!!error} aria-describedby={error ? 'ty-launch-fromRun-error' : undefined}
        onChange={(e) => onChange(e.target.value)}>
        <option value="">none</option>
        <option value="latest">latest succeeded training run{items[0] ? ` (now ${items[0].id})` : ''}</option>
        {items.map((r) => <option key={r.id} value={r.id}>{r.id} · {r.version} · {ago(r.finishedAt)}</option>)}
        {known ? null : <option value={value}>{value}</option>}
      </select>
      <div className="ty-hint" data-testid="from-run-hint">
        {runs.status === 'loading' ? 'Loading training runs…' : null}
        {runs.status === 'error' ? 'Could not list the training runs; "latest" still works.' : null}
        {runs.status === 'ok' && items.length === 0 ? `${model} has no succeeded training run yet.` : null}
        {runs.status === 'ok' && items.length > 0 ? <>Its files are in <code>TRAINYARD_INPUT_DIR</code> (<code>trainyard.input_dir()</code>).{value === 'latest' ? ' "latest" is looked up at each launch.' : ''}</> : null}
      </div>
      {error ? <div id="ty-launch-fromRun-error" className="ty-field-error" role="alert">{error}</div> : null}
    </div>
  );
}
