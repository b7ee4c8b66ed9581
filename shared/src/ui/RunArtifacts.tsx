/**
 * A run's artifacts: the files it left in TRAINYARD_OUTPUT_DIR, as a tree with sizes and a total,
 * what was dropped (the note), and one button per way the host keeps a file (the `savers` of
 * <TrainyardUi>: a browser download, an editor's Save As, a notebook folder), each with its
 * progress and outcome. Pending until the run ends (listed again when it does), then stored,
 * none, or failed with the reason.
 */
import { useEffect, useState } from 'react';
import type { ArtifactFile, ArtifactList } from '../schemas/artifacts';
import type { Run } from '../schemas/runs';
import { useUi, type ArtifactSaver } from './context';
import { useAsync } from './hooks';
import { bytes } from './format';
import { describeError, ErrorState, Loading } from './states';

export interface RunArtifactsProps { run: Run }

/** A row of the tree: a folder (shown once, before its first file) or a file, with its depth. */
export type TreeRow = { kind: 'dir'; path: string; name: string; depth: number } | { kind: 'file'; file: ArtifactFile; name: string; depth: number };

/** The listing as tree rows, in path order: each folder once, before what it holds. */
export function treeRows(files: ArtifactFile[]): TreeRow[] {
  const rows: TreeRow[] = [];
  const seen = new Set<string>();
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!seen.has(dir)) { seen.add(dir); rows.push({ kind: 'dir', path: dir, name: parts[i - 1], depth: i - 1 }); }
    }
    rows.push({ kind: 'file', file, name: parts[parts.length - 1], depth: parts.length - 1 });
  }
  return rows;
}

type SaveState =
  | { phase: 'saving'; saver: string; done: number } | { phase: 'saved'; saver: string; where: string }
  | { phase: 'error'; saver: string; message: string } | { phase: 'cancelled'; saver: string; message: string };

/** a picker closed without a choice, or a download stopped by the user: not an error */
const isCancel = (err: unknown) => (err as Error)?.name === 'AbortError' || (err as { code?: unknown })?.code === 'cancelled';

function FileActions({ run, file, savers }: { run: Run; file: ArtifactFile; savers: ArtifactSaver[] }) {
  const [state, setState] = useState<SaveState | null>(null);
  const start = async (s: ArtifactSaver) => {
    setState({ phase: 'saving', saver: s.label, done: 0 });
    try {
      const where = await s.save(run, file, { onProgress: (done) => setState({ phase: 'saving', saver: s.label, done }) });
      setState({ phase: 'saved', saver: s.label, where });
    } catch (err) {
      const message = describeError(err, file.path).detail;
      setState(isCancel(err) ? { phase: 'cancelled', saver: s.label, message } : { phase: 'error', saver: s.label, message });
    }
  };
  const busy = state?.phase === 'saving';
  return (
    <div className="ty-row ty-artifact-actions" style={{ gap: 6, justifyContent: 'flex-end' }}>
      {state?.phase === 'saving' && state.done > 0 ? (
        <span className="ty-small ty-muted" role="status" data-testid="artifact-progress">
          {file.size ? `${Math.floor((100 * state.done) / file.size)}%` : '…'} of {bytes(file.size)}
        </span>
      ) : null}
      {state?.phase === 'saved' ? <span className="ty-small" role="status" data-testid="artifact-saved" title={state.where}><span className="ty-ok" aria-hidden>✓</span> {state.where}</span> : null}
      {state?.phase === 'cancelled' ? <span className="ty-small ty-muted" role="status">{state.message}</span> : null}
      {state?.phase === 'error' ? <span className="ty-small ty-err" role="alert" data-testid="artifact-error" title={state.message}>{state.saver} failed: {state.message}</span> : null}
      {savers.map((s) => (
        <button key={s.label} type="button" className="ty-btn ty-btn-small" disabled={busy} aria-label={`${s.label} ${file.path}`} onClick={() => void start(s)}>
          {busy && state?.saver === s.label ? `${s.label.replace(/…$/, '')}…` : s.label}
        </button>
      ))}
    </div>
  );
}

function Listing({ run, list, savers }: { run: Run; list: ArtifactList; savers: ArtifactSaver[] }) {
  const rows = treeRows(list.files);
  return (
    <>
      <table className="ty-table ty-artifacts" aria-label="Artifact files">
        <thead><tr><th>File</th><th className="ty-num">Size</th><th>sha256</th>{savers.length ? <th className="ty-num"><span className="ty-sr-only">Actions</span></th> : null}</tr></thead>
        <tbody>
          {rows.map((r) => r.kind === 'dir' ? (
            <tr key={`d:${r.path}`} className="ty-artifact-dir" data-artifact-dir={r.path}>
              <td colSpan={savers.length ? 4 : 3} className="ty-mono" style={{ paddingLeft: 8 + r.depth * 18 }}><span aria-hidden>▾ </span>{r.name}/</td>
            </tr>
          ) : (
            <tr key={`f:${r.file.path}`} data-artifact={r.file.path}>
              <td className="ty-mono" style={{ paddingLeft: 8 + r.depth * 18 + (r.depth ? 14 : 0) }} title={r.file.path}>{r.name}</td>
              <td className="ty-num" data-testid="artifact-size" title={`${r.file.size.toLocaleString('en-US')} bytes`}>{bytes(r.file.size)}</td>
              <td className="ty-mono ty-small ty-muted" title={r.file.sha256}>{r.file.sha256.slice(0, 12)}</td>
              {savers.length ? <td className="ty-num"><FileActions run={run} file={r.file} savers={savers} /></td> : null}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="ty-hint" data-testid="artifacts-total">
        {list.files.length} file{list.files.length === 1 ? '' : 's'}, {bytes(list.totalBytes)} in all{list.ref ? <> · <span className="ty-mono" title={list.digest ?? undefined}>{list.ref}</span></> : null}
      </div>
    </>
  );
}

export function RunArtifacts({ run }: RunArtifactsProps) {
  const { client, savers } = useUi();
  const [list, reload] = useAsync(() => client.listArtifacts(run.id), [client, run.id]);
  // listed again when the run ends (its files are kept then) and while they are being kept
  const pending = list.status === 'ok' && list.value.state === 'pending';
  useEffect(() => { if (pending && run.finishedAt) reload(); }, [pending, run.finishedAt, reload]);
  useEffect(() => {
    if (!pending || !run.finishedAt) return;
    const t = setInterval(reload, 2000);
    return () => clearInterval(t);
  }, [pending, run.finishedAt, reload]);

  return (
    <div className="ty-stack" data-testid="run-artifacts" data-state={list.status === 'ok' ? list.value.state : list.status}>
      <h2 className="ty-h2">Artifacts</h2>
      {list.status === 'loading' ? <Loading label="Loading artifacts…" rows={1} /> : null}
      {list.status === 'error' ? <ErrorState error={list.error} what="the artifacts" onRetry={reload} /> : null}
      {list.status === 'ok' ? <Body run={run} list={list.value} savers={savers} /> : null}
    </div>
  );
}

function Body({ run, list, savers }: { run: Run; list: ArtifactList; savers: ArtifactSaver[] }) {
  const howTo = <>A run keeps the files it writes under <code>TRAINYARD_OUTPUT_DIR</code> (<code>trainyard.output_dir()</code> in Python).</>;
  switch (list.state) {
    case 'pending':
      return <div className="ty-banner ty-banner-info" data-testid="artifacts-pending">{run.finishedAt ? 'Keeping the files this run wrote…' : 'Kept when the run ends.'} {howTo}</div>;
    case 'none':
      return <div className="ty-hint" data-testid="artifacts-none">This run kept no files{list.note ? ` (${list.note})` : ''}. {howTo}</div>;
    case 'failed':
      return <div className="ty-banner ty-banner-err" role="alert" data-testid="artifacts-failed">The files of this run could not be kept{list.note ? `: ${list.note}` : '.'}</div>;
    case 'stored':
      return (
        <>
          {list.note ? <div className="ty-banner" data-testid="artifacts-note"><strong>Not everything was kept:</strong> {list.note}</div> : null}
          {list.files.length ? <Listing run={run} list={list} savers={savers} /> : <div className="ty-hint" data-testid="artifacts-none">This run kept no files. {howTo}</div>}
        </>
      );
  }
}
