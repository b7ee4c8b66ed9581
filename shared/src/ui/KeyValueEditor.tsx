/** Typed key/value rows for params (one value) and sweep axes (comma-separated values). */
import type { ValueType } from './launch-model';

export interface KvRow { key: string; type: ValueType; value: string }

export interface KeyValueEditorProps {
  label: string;
  rows: KvRow[];
  onChange(rows: KvRow[]): void;
  errors: Record<number, string | undefined>;
  valuePlaceholder: string;
  keyPlaceholder?: string;
  addLabel: string;
  idPrefix: string;
}

export function KeyValueEditor({ label, rows, onChange, errors, valuePlaceholder, keyPlaceholder = 'name', addLabel, idPrefix }: KeyValueEditorProps) {
  const set = (i: number, patch: Partial<KvRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset className="ty-field" style={{ border: 0, padding: 0, margin: 0 }}>
      <legend className="ty-label" style={{ marginBottom: 4 }}>{label}</legend>
      {rows.map((r, i) => {
        const err = errors[i];
        const errId = `${idPrefix}-${i}-error`;
        return (
          <div key={i} className="ty-field">
            <div className="ty-row" style={{ flexWrap: 'nowrap' }}>
              <input className="ty-input ty-mono" style={{ width: 150 }} aria-label={`${label} ${i + 1} name`} placeholder={keyPlaceholder}
                value={r.key} aria-invalid={!!err} aria-describedby={err ? errId : undefined} onChange={(e) => set(i, { key: e.target.value })} />
              <select className="ty-select" aria-label={`${label} ${i + 1} type`} value={r.type} onChange={(e) => set(i, { type: e.target.value as ValueType })}>
                <option value="string">text</option>
                <option value="number">number</option>
                <option value="boolean">true/false</option>
              </select>
              <input className="ty-input ty-mono" style={{ flex: 1 }} aria-label={`${label} ${i + 1} value`} placeholder={valuePlaceholder}
                value={r.value} aria-invalid={!!err} aria-describedby={err ? errId : undefined} onChange={(e) => set(i, { value: e.target.value })} />
              <button type="button" className="ty-btn ty-btn-small" aria-label={`remove ${label} ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>✕</button>
            </div>
            {err ? <div id={errId} className="ty-field-error" role="alert">{err}</div> : null}
          </div>
        );
      })}
      <div><button type="button" className="ty-btn ty-btn-small" onClick={() => onChange([...rows, { key: '', type: 'string', value: '' }])}>+ {addLabel}</button></div>
    </fieldset>
  );
}
