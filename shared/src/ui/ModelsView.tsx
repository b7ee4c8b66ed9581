/** Models (name, team, latest version, counts) and one model's versions (label, git, digest, size) with its runs. */
import type { Model, Version } from '../schemas/models';
import { useUi } from './context';
import { useAsync, useEvents } from './hooks';
import { ago, bytes, dateTime } from './format';
import { Empty, ErrorState, Loading } from './states';
import { RunList } from './RunList';

export function ModelList() {
  const { client, links } = useUi();
  const [state, reload] = useAsync(() => client.listModels().then((r) => r.items), [client]);
  useEvents(client, (e) => { if (e.kind === 'version') reload(); }, reload);
  if (state.status === 'loading') return <Loading label="Loading models…" />;
  if (state.status === 'error') return <ErrorState error={state.error} what="models" onRetry={reload} />;
  if (state.value.length === 0) return <Empty title="No models yet">Save one: <code>trainyard save PATH --model NAME</code>, or use Save Model in your editor.</Empty>;
  return (
    <div className="ty-grid" style={{ gridTemplateColumns: 'repeat(auto-fill, minmax(300px, 1fr))' }} data-testid="model-list">
      {state.value.map((m: Model) => (
        <a key={m.name} href={links.model(m.name)} className="ty-card" style={{ color: 'inherit', textDecoration: 'none', display: 'block' }} data-model={m.name}>
          <div className="ty-row"><strong style={{ fontSize: '1.1em' }}>{m.name}</strong><span className="ty-spacer" />{m.team ? <span className="ty-muted ty-small">{m.team}</span> : null}</div>
          {m.description ? <div className="ty-muted ty-small">{m.description}</div> : null}
          <dl className="ty-kv ty-small" style={{ marginTop: 8 }}>
            <dt>Latest</dt><dd className="ty-mono">{m.latestVersion ?? '—'}</dd>
            <dt>Versions</dt><dd>{m.versionCount}</dd>
            <dt>Runs</dt><dd>{m.runCount}</dd>
            <dt>Created</dt><dd>{ago(m.createdAt)} by {m.createdBy}</dd>
          </dl>
        </a>
      ))}
    </div>
  );
}

export function VersionList({ model }: { model: string }) {
  const { client } = useUi();
  const [state, reload] = useAsync(() => client.listVersions(model).then((r) => [...r.items].sort((a, b) => b.createdAt.localeCompare(a.createdAt))), [client, model]);
  useEvents(client, (e) => { if (e.kind === 'version' && e.data.model === model) reload(); }, reload);
  if (state.status === 'loading') return <Loading label="Loading versions…" />;
  if (state.status === 'error') return <ErrorState error={state.error} what={`model ${model}`} onRetry={reload} />;
  if (state.value.length === 0) return <Empty title={`${model} has no versions yet`}>Save one: <code>trainyard save PATH --model {model}</code>.</Empty>;
  return (
    <div className="ty-card" style={{ padding: 0, overflowX: 'auto' }}>
      <table className="ty-table" aria-label="Versions">
        <thead><tr><th>Version</th><th>Git</th><th>Digest</th><th>Base image</th><th>Entrypoints</th><th className="ty-num">Size</th><th>Saved</th></tr></thead>
        <tbody>
          {state.value.map((v: Version, i) => (
            <tr key={v.label}>
              <td className="ty-mono">{v.label}{i === 0 ? <span className="ty-badge ty-info" style={{ marginLeft: 8 }}>latest</span> : null}</td>
              <td className="ty-mono">{v.git.sha ? v.git.sha.slice(0, 7) : '—'}{v.git.dirty ? <span className="ty-warn" title="saved with uncommitted changes"> ● dirty</span> : null}</td>
              <td className="ty-mono ty-small" title={v.digest}>{v.digest.slice(7, 19)}</td>
              <td className="ty-small">{v.baseImage ?? <span className="ty-muted">host Python</span>}</td>
              <td className="ty-mono ty-small">{Object.keys(v.entrypoints).join(', ')}</td>
              <td className="ty-num">{bytes(v.sizeBytes)} <span className="ty-muted">({v.fileCount} files)</span></td>
              <td className="ty-small">{dateTime(v.createdAt)} <span className="ty-muted">by {v.createdBy}</span></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ModelDetails({ model }: { model: string }) {
  return (
    <div className="ty-stack" data-testid="model-details">
      <h1 className="ty-h1">{model}</h1>
      <h2 className="ty-h2">Versions</h2>
      <VersionList model={model} />
      <h2 className="ty-h2">Runs</h2>
      <RunList model={model} height={420} />
    </div>
  );
}
