/**
 * One server-sent-event subscription per client, shared by every mounted
 * component (no polling). Reconnects with backoff; after a reconnect listeners
 * get `onReconnect` so they can reload what they may have missed.
 */
import type { TrainyardEvent } from '../schemas/events';
import type { UiClient } from './context';

export type EventListener = { onEvent?(e: TrainyardEvent): void; onReconnect?(): void; onState?(s: StreamState): void };
export type StreamState = 'connecting' | 'live' | 'down';

class Hub {
  private listeners = new Set<EventListener>();
  private abort: AbortController | null = null;
  state: StreamState = 'connecting';
  constructor(private readonly client: UiClient) {}

  add(l: EventListener): () => void {
    this.listeners.add(l);
    if (!this.abort) this.start();
    else l.onState?.(this.state); // a late subscriber (a panel opened later) learns the current state
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0) {
        this.abort?.abort();
        this.abort = null;
      }
    };
  }

  private setState(s: StreamState) {
    if (s === this.state) return;
    this.state = s;
    for (const l of this.listeners) l.onState?.(s);
  }

  private start() {
    const ac = new AbortController();
    this.abort = ac;
    void (async () => {
      let attempt = 0;
      while (!ac.signal.aborted) {
        try {
          this.setState('connecting');
          // live as soon as the subscription is open (the stream may say nothing for a while)
          const it = this.client.events({ signal: ac.signal, onOpen: () => this.setState('live') });
          for await (const e of it) {
            attempt = 0;
            this.setState('live');
            for (const l of this.listeners) l.onEvent?.(e);
          }
        } catch {
          /* fall through to retry */
        }
        if (ac.signal.aborted) return;
        this.setState('down');
        attempt++;
        await new Promise((r) => setTimeout(r, Math.min(10000, 500 * 2 ** Math.min(attempt, 5))));
        for (const l of this.listeners) l.onReconnect?.();
      }
    })();
    // the stream says nothing until the first event; treat an open subscription as live
    setTimeout(() => { if (this.abort === ac && this.state === 'connecting') this.setState('live'); }, 300);
  }
}

const hubs = new WeakMap<UiClient, Hub>();

export function subscribeEvents(client: UiClient, l: EventListener): () => void {
  let hub = hubs.get(client);
  if (!hub) { hub = new Hub(client); hubs.set(client, hub); }
  return hub.add(l);
}
