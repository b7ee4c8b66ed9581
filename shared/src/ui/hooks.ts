/** Small data hooks: load-once-with-reload and live run events. */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Run } from '../schemas/runs';
import type { TrainyardEvent } from '../schemas/events';
import type { UiClient } from './context';
import { subscribeEvents, type StreamState } from './events';
import { newerRun } from './run-list-model';

export type Async<T> = { status: 'loading' } | { status: 'error'; error: unknown } | { status: 'ok'; value: T };

/** Runs `load` when deps change; `reload()` re-runs it keeping the old value on screen. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): [Async<T>, () => void, (f: (v: T) => T) => void] {
  const [state, setState] = useState<Async<T>>({ status: 'loading' });
  const gen = useRef(0);
  const run = useCallback(() => {
    const my = ++gen.current;
    load().then(
      (value) => { if (gen.current === my) setState({ status: 'ok', value }); },
      (error) => { if (gen.current === my) setState({ status: 'error', error }); },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    setState({ status: 'loading' });
    run();
    return () => { gen.current++; };
  }, [run]);
  const update = useCallback((f: (v: T) => T) => setState((s) => (s.status === 'ok' ? { status: 'ok', value: f(s.value) } : s)), []);
  return [state, run, update];
}

/** Calls `onEvent` for each server-sent event and `onReconnect` after the stream came back. */
export function useEvents(client: UiClient, onEvent: (e: TrainyardEvent) => void, onReconnect?: () => void): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const ev = useRef(onEvent);
  const rc = useRef(onReconnect);
  ev.current = onEvent;
  rc.current = onReconnect;
  useEffect(
    () => subscribeEvents(client, { onEvent: (e) => ev.current(e), onReconnect: () => rc.current?.(), onState: setState }),
    [client],
  );
  return state;
}

/**
 * Keeps one run fresh from events. A reload's answer may have been read before an event that
 * arrived first (a cancel's reload and the Cancelled event): it never takes the run back.
 */
export function useLiveRun(client: UiClient, id: string): [Async<Run>, () => void] {
  const seen = useRef<Run | undefined>(undefined);
  const keep = (r: Run) => (seen.current = newerRun(seen.current, r));
  const [state, reload, update] = useAsync(() => client.getRun(id).then(keep), [client, id]);
  useEvents(client, (e) => {
    if (e.kind !== 'run' || e.data.id !== id) return;
    const r = keep(e.data); // kept even while the first load is on its way, which then yields to it
    update(() => r);
  }, reload);
  return [state, reload];
}
