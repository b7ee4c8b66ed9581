/**
 * The host end of the webview protocol: answers a webview's requests and streams with a real
 * UiClient (the extension's TrainyardClient), cancels streams on `cancel` and on dispose (the
 * panel closed), and hands `ready` and `action` messages to the embedder. No VS Code import,
 * so the protocol is tested by pairing this with `createMessageClient`.
 */
import type { UiClient } from '../ui/context';
import type { ArtifactFile } from '../schemas/artifacts';
import { HOST_METHODS, parseSaveArtifact, parseToHost, toWireError, type PanelAction, type ToWebview } from './messages';

export interface HostBridgeOptions {
  client: () => UiClient;
  post(message: ToWebview): void;
  onReady(): void;
  onAction(action: PanelAction): void;
  /** keeps one artifact file where the user says; resolves with where it went (without it, saveArtifact is refused) */
  saveArtifact?(runId: string, file: ArtifactFile): Promise<string>;
}

export interface HostBridge {
  /** feed every message the webview posts */
  handle(raw: unknown): void;
  /** streams still open (for tests and diagnostics) */
  openStreams(): number;
  dispose(): void;
}

export function createHostBridge(opts: HostBridgeOptions): HostBridge {
  const streams = new Map<number, AbortController>();
  let disposed = false;
  const post = (m: ToWebview) => { if (!disposed) opts.post(m); };

  const request = async (id: number, method: string, args: unknown[]) => {
    try {
      if ((HOST_METHODS as readonly string[]).includes(method)) {
        post({ type: 'reply', id, ok: true, value: await hostCall(method, args) });
        return;
      }
      const fn = (opts.client() as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method];
      const value = await fn.apply(opts.client(), args);
      post({ type: 'reply', id, ok: true, value });
    } catch (err) {
      post({ type: 'reply', id, ok: false, error: toWireError(err) });
    }
  };

  const hostCall = async (method: string, args: unknown[]): Promise<unknown> => {
    const a = parseSaveArtifact(args);
    if (method !== 'saveArtifact' || !a) throw Object.assign(new Error(`${method}: arguments not understood`), { status: 400, code: 'invalid_request' });
    if (!opts.saveArtifact) throw Object.assign(new Error('this editor cannot save artifact files'), { status: 501, code: 'internal' });
    return opts.saveArtifact(a.runId, a.file);
  };

  const stream = async (id: number, method: 'events' | 'followLogs', args: unknown[]) => {
    if (streams.has(id)) return;
    const ac = new AbortController();
    streams.set(id, ac);
    try {
      const client = opts.client();
      const gen = method === 'events'
        ? client.events({ signal: ac.signal })
        : client.followLogs(String(args[0]), { ...(isAfter(args[1]) ? { after: args[1].after } : {}), signal: ac.signal });
      for await (const value of gen) {
        if (ac.signal.aborted) break;
        post({ type: 'item', id, value });
      }
      if (!ac.signal.aborted) post({ type: 'end', id });
    } catch (err) {
      if (!ac.signal.aborted) post({ type: 'fail', id, error: toWireError(err) });
    } finally {
      streams.delete(id);
    }
  };

  return {
    handle(raw) {
      const m = parseToHost(raw);
      if (!m || disposed) return;
      switch (m.type) {
        case 'ready': opts.onReady(); break;
        case 'request': void request(m.id, m.method, m.args); break;
        case 'stream': void stream(m.id, m.method, m.args); break;
        case 'cancel': streams.get(m.id)?.abort(); streams.delete(m.id); break;
        case 'action': opts.onAction(m.body); break;
      }
    },
    openStreams: () => streams.size,
    dispose() {
      disposed = true;
      for (const ac of streams.values()) ac.abort();
      streams.clear();
    },
  };
}

function isAfter(v: unknown): v is { after: number } {
  return typeof v === 'object' && v !== null && Number.isSafeInteger((v as { after?: unknown }).after);
}
