/**
 * The first-save dialog: model (existing or new), entrypoints (this notebook as `train`,
 * optionally a script or notebook for `predict`), base image, optional self-test, and a
 * preview of what will ship (files kept, secrets refused with file/line/rule, the kernel
 * interpreter). Values are checked against the shared schema patterns before the save starts.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import { useState } from 'react';
import Value from 'typebox/value';
import { ModelName } from '../../../shared/src/schemas/common';
import type { WorkspacePreview } from './types';

export interface SaveAnswers {
  model: string;
  predict: string;
  baseImage: string;
  selfTest: string;
}

export function validateAnswers(a: SaveAnswers): string | null {
  if (!a.model.trim()) return 'Model: type a name, e.g. eta-correction';
  if (!Value.Check(ModelName, a.model.trim())) return `Model: "${a.model}" is not a model name: lowercase letters, digits and "-", starting with a letter, 2-63 characters (e.g. eta-correction)`;
  if (/\s/.test(a.baseImage.trim())) return 'Base image: an image reference has no spaces (e.g. python:3.11-slim)';
  return null;
}

function fmtBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

interface Props { preview: WorkspacePreview; models: string[]; python: string | null; initial: SaveAnswers; error: string | null; onChange(a: SaveAnswers): void }

function SaveForm({ preview, models, python, initial, error, onChange }: Props) {
  const [a, setA] = useState(initial);
  const set = (patch: Partial<SaveAnswers>) => { const next = { ...a, ...patch }; setA(next); onChange(next); };
  const candidates = (preview.files ?? []).filter((f) => /\.(py|ipynb)$/.test(f) && f !== preview.notebook && !f.startsWith('.trainyard/'));
  return (
    <div className="ty-save-dialog" data-testid="ty-save-dialog">
      {error ? <div className="ty-save-error" role="alert">{error}</div> : null}
      <label>Model
        <input id="ty-save-model" list="ty-save-models" value={a.model} placeholder="e.g. eta-correction" onChange={(e) => set({ model: e.target.value })} autoFocus />
        <datalist id="ty-save-models">{models.map((m) => <option key={m} value={m} />)}</datalist>
        <span className="ty-save-hint">{models.length ? `existing: ${models.join(', ')}; or type a new name` : 'a new model: lowercase letters, digits and "-"'}</span>
      </label>
      <label>Entrypoint train
        <input value={preview.notebook} readOnly aria-readonly />
        <span className="ty-save-hint">this notebook becomes a script; runs execute its code cells in order</span>
      </label>
      <label>Entrypoint predict (optional)
        <select id="ty-save-predict" value={a.predict} onChange={(e) => set({ predict: e.target.value })}>
          <option value="">none</option>
          {candidates.map((f) => <option key={f} value={f}>{f}</option>)}
        </select>
      </label>
      <label>Base image (optional)
        <input id="ty-save-base" value={a.baseImage} placeholder="none: runs use this machine's Python" onChange={(e) => set({ baseImage: e.target.value })} />
        <span className="ty-save-hint">with a base image, the packages of the kernel's environment{python ? ` (${python})` : ''} that it lacks go into the version</span>
      </label>
      <label>Self-test (optional)
        <input id="ty-save-selftest" value={a.selfTest} placeholder={'e.g. python -c "import eta_data"'} onChange={(e) => set({ selfTest: e.target.value })} />
      </label>
      <div>
        <div className="ty-save-hint">What will ship (a frozen snapshot of {preview.dir}):</div>
        <div className="ty-save-preview" data-testid="ty-save-preview">
          {preview.refused?.length ? preview.refused.map((s) => (
            <div key={s.file} className="ty-refused">refused: {s.file}{s.line ? ` line ${s.line}` : ''} ({s.rule})</div>
          )) : null}
          {preview.files ? <div>{preview.files.length} files, {fmtBytes(preview.totalBytes ?? 0)}: {preview.files.slice(0, 40).join(', ')}{preview.files.length > 40 ? ', …' : ''}</div> : null}
          {preview.error && !preview.refused?.length ? <div className="ty-refused">{preview.error}</div> : null}
          <div>kernel interpreter: {python ?? 'unknown (no kernel running)'}</div>
        </div>
      </div>
    </div>
  );
}

class SaveBody extends ReactWidget implements Dialog.IBodyWidget<SaveAnswers> {
  private value: SaveAnswers;
  constructor(private readonly props: Omit<Props, 'onChange'>) {
    super();
    this.value = props.initial;
  }
  getValue(): SaveAnswers { return this.value; }
  render() { return <SaveForm {...this.props} onChange={(a) => (this.value = a)} />; }
}

/** asks until the answers are valid or the user cancels (null) */
export async function askSaveAnswers(preview: WorkspacePreview, models: string[], python: string | null, initial: SaveAnswers): Promise<SaveAnswers | null> {
  let current = initial;
  let error: string | null = null;
  for (;;) {
    const result = await showDialog<SaveAnswers>({
      title: 'Save Model',
      body: new SaveBody({ preview, models, python, initial: current, error }),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Save version' })],
      focusNodeSelector: '#ty-save-model',
    });
    if (!result.button.accept || !result.value) return null;
    current = result.value;
    error = validateAnswers(current);
    if (!error) return current;
  }
}
