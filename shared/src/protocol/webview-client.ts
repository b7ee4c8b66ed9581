/**
 * The webview end of the protocol: a UiClient whose every call is a message to the host.
 * Requests resolve on their reply; `events` and `followLogs` are async generators fed by
 * `item` messages, ended by `end`/`fail`, and cancelled (a `cancel` message) when the caller
 * stops iterating or aborts its signal. Browser-safe; no VS Code import.
 */
import { ApiError } from '../client';
import type { ErrorCode } from '../schemas/common';
import type { UiClient } from '../ui/context';
import type { ArtifactFile } from '../schemas/artifacts';
import { REQUEST_METHODS, type HostMethod, type PanelView, type RequestMethod, type StreamMethod, type ToHost, type ToWebview, type WireError } from './messages';

export interface MessageClient {
  client: UiClient;
  /** feed every message the host posts */
  handle(message: ToWebview): void;
  /** the view the host asked for (after the ready handshake) */
  view: Promise<PanelView>;
  onView(listener: (view: PanelView) => void): void;
  /** asks the host to keep one artifact file (it picks where and checks the sha256); resolves with where it went */
  saveArtifact(runId: string, file: ArtifactFile): Promise<string>;
}

const toError = (e: WireError) => new ApiError(e.status, e.code as ErrorCode, e.message);

interface StreamState { push(v: unknown): void; end(): void; fail(e: WireError): void }

export function createMessageClient(post: (m: ToHost) => void): MessageClient {
  let next = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  const streams = new Map<number, StreamState>();
  const viewListeners: Array<(v: PanelView) => void> = [];
  let resolveView!: (v: PanelView) => void;
  const view = new Promise<PanelView>((r) => (resolveView = r));

  const request = (method: RequestMethod | HostMethod, args: unknown[]) => new Promise<unknown>((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    post({ type: 'request', id, method, args });
  });

  async function* stream(method: StreamMethod, args: unknown[], signal?: AbortSignal, onOpen?: () => void): AsyncGenerator<unknown> {
    const id = next++;
    const queue: unknown[] = [];
    let done = false;
    let hostEnded = false;
    let error: WireError | null = null;
    let wake: (() => void) | null = null;
    const poke = () => { const w = wake; wake = null; w?.(); };
    streams.set(id, { push: (v) => { queue.push(v); poke(); }, end: () => { hostEnded = done = true; poke(); }, fail: (e) => { error = e; hostEnded = done = true; poke(); } });
    const onAbort = () => { done = true; poke(); };
    signal?.addEventListener('abort', onAbort);
    post({ type: 'stream', id, method, args });
    onOpen?.();
    try {
      for (;;) {
        if (queue.length) { yield queue.shift(); continue; }
        if (signal?.aborted) { const e = new Error('aborted'); e.name = 'AbortError'; throw e; }
        if (error) throw toError(error);
        if (done) return;
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      streams.delete(id);
      if (!hostEnded) post({ type: 'cancel', id });
    }
  }

  const client = Object.fromEntries(REQUEST_METHODS.map((m) => [m, (...args: unknown[]) => request(m, args)])) as unknown as UiClient;
  const c = client as unknown as Record<string, unknown>;
  c.events = (opts: { signal?: AbortSignal; onOpen?: () => void } = {}) => stream('events', [], opts.signal, opts.onOpen);
  c.followLogs = (id: string, opts: { after?: number; signal?: AbortSignal } = {}) =>
    stream('followLogs', [id, opts.after !== undefined ? { after: opts.after } : {}], opts.signal);

  return {
    client,
    view,
    onView: (l) => { viewListeners.push(l); },
    saveArtifact: (runId, file) => request('saveArtifact', [runId, { path: file.path, size: file.size, sha256: file.sha256 }]) as Promise<string>,
    handle(m) {
      switch (m.type) {
        case 'init': resolveView(m.view); for (const l of viewListeners) l(m.view); break;
        case 'reply': {
          const p = pending.get(m.id);
          if (!p) return;
          pending.delete(m.id);
          if (m.ok) p.resolve(m.value);
          else p.reject(toError(m.error));
          break;
        }
        case 'item': streams.get(m.id)?.push(m.value); break;
        case 'end': streams.get(m.id)?.end(); break;
        case 'fail': streams.get(m.id)?.fail(m.error); break;
      }
    },
  };
}
