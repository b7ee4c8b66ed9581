/**
 * One card per hardware profile: CPU, memory, GPU, price per hour and live
 * availability (fits now with slots / will queue / will queue: scale-up expected / cannot
 * fit, with the reason). "Scale-up expected" is a profile no node takes now whose nodes come
 * from an autoscaled pool: selectable, unlike "cannot fit".
 * A radio group: arrow keys move, Space/Enter select; profiles that cannot fit
 * stay focusable so their reason can be read, but cannot be selected.
 * Availability refreshes on run events (runs starting and ending change it).
 */
import { useEffect, useRef, type KeyboardEvent } from 'react';
import type { HardwareWithAvailability } from '../schemas/hardware';
import { useUi } from './context';
import { useAsync, useEvents } from './hooks';
import { money } from './format';
import { ErrorState, Loading, Empty } from './states';

export interface HardwarePickerProps {
  value: string | null;
  onChange(name: string): void;
  /** called with the loaded profiles, e.g. to preselect one */
  onLoaded?(items: HardwareWithAvailability[]): void;
  label?: string;
}

const AVAIL = {
  'fits-now': { cls: 'ty-ok', word: 'Fits now' },
  'will-queue': { cls: 'ty-warn', word: 'Will queue' },
  'scale-up': { cls: 'ty-warn', word: 'Will queue: scale-up expected' },
  'cannot-fit': { cls: 'ty-err', word: 'Cannot fit' },
} as const;

/** what the card shows: the availability status, with will-queue split by whether a scale-up is expected */
export function availabilityState(a: HardwareWithAvailability['availability']): keyof typeof AVAIL {
  return a.status === 'will-queue' && a.scaleUp ? 'scale-up' : a.status;
}

export function HardwarePicker({ value, onChange, onLoaded, label = 'Hardware' }: HardwarePickerProps) {
  const { client } = useUi();
  const [state, reload] = useAsync(() => client.listHardware().then((r) => r.items), [client]);
  const throttle = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEvents(client, (e) => {
    if (e.kind !== 'run' || throttle.current) return;
    throttle.current = setTimeout(() => { throttle.current = null; reload(); }, 1000);
  }, reload);
  useEffect(() => () => { if (throttle.current) clearTimeout(throttle.current); }, []);
  const loadedOnce = useRef(false);
  useEffect(() => {
    if (state.status === 'ok' && !loadedOnce.current) { loadedOnce.current = true; onLoaded?.(state.value); }
  }, [state, onLoaded]);
  const refs = useRef<(HTMLDivElement | null)[]>([]);

  if (state.status === 'loading') return <Loading label="Loading hardware profiles…" rows={2} />;
  if (state.status === 'error') return <ErrorState error={state.error} what="hardware profiles" onRetry={reload} />;
  const items = state.value;
  if (items.length === 0) return <Empty title="No hardware profiles">Add profiles under <code>hardware:</code> in trainyard.yaml.</Empty>;

  const selectable = (h: HardwareWithAvailability) => h.availability.status !== 'cannot-fit';
  const current = Math.max(0, items.findIndex((h) => h.name === value));
  const onKey = (e: KeyboardEvent, i: number) => {
    const move = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? 1 : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? -1 : 0;
    if (move) {
      e.preventDefault();
      const next = (i + move + items.length) % items.length;
      refs.current[next]?.focus();
      if (selectable(items[next])) onChange(items[next].name);
    } else if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      if (selectable(items[i])) onChange(items[i].name);
    }
  };

  return (
    <div role="radiogroup" aria-label={label} className="ty-grid">
      {items.map((h, i) => {
        const shown = availabilityState(h.availability);
        const a = AVAIL[shown];
        const checked = h.name === value;
        const reasonId = `ty-hw-reason-${h.name}`;
        return (
          <div
            key={h.name}
            ref={(el) => { refs.current[i] = el; }}
            role="radio"
            aria-checked={checked}
            aria-disabled={!selectable(h)}
            aria-describedby={reasonId}
            tabIndex={i === current ? 0 : -1}
            className="ty-card ty-hw"
            data-profile={h.name}
            data-availability={shown}
            onClick={() => selectable(h) && onChange(h.name)}
            onKeyDown={(e) => onKey(e, i)}
          >
            <div className="ty-row">
              <strong>{h.name}</strong>
              <span className="ty-spacer" />
              <span className="ty-hw-price">{money(h.pricePerHour)}<span className="ty-muted ty-small">/h</span></span>
            </div>
            {h.description ? <div className="ty-muted ty-small">{h.description}</div> : null}
            <div className="ty-small">
              {h.cpu} CPU · {h.memory} memory · {h.gpu && h.gpu.count > 0 ? `${h.gpu.count}× ${h.gpu.type}` : 'no GPU'}
            </div>
            <div id={reasonId} className={`ty-small ${a.cls}`}>
              <strong>{a.word}</strong>
              {h.availability.status === 'fits-now' ? ` · ${h.availability.slots} slot${h.availability.slots === 1 ? '' : 's'} free` : ''}
              {h.availability.reason && h.availability.status !== 'fits-now' ? <span className="ty-muted"> — {h.availability.reason}</span> : null}
            </div>
          </div>
        );
      })}
    </div>
  );
}
