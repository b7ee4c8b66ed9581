/**
 * The connection to the backend: one TrainyardClient (rebuilt when the URL or token changes),
 * its state (connecting / connected / unauthorized / unreachable, with the reason), and ONE
 * /v1/events subscription shared by every view. Failures never throw into the UI: the state
 * says why, and the loop retries with backoff until the backend answers again; every reopen
 * fires onDidReconnect so views reload what they may have missed. Events are handed out in
 * batches (one tree refresh per burst).
 */
import * as vscode from 'vscode';
import type { ApiError, TrainyardClient } from '@trainyard/shared/client';
import { heavy } from '../lazy';
import type { TrainyardEvent } from '@trainyard/shared/schemas/events';
import { readSettings } from './settings';
import { resolveToken, type SecretStore } from './token';
import { Backoff, Batcher } from './backoff';

export type ConnState =
  | { kind: 'connecting'; url: string }
  | { kind: 'connected'; url: string; version: string; tokenSource: string }
  | { kind: 'unauthorized'; url: string; reason: string }
  | { kind: 'unreachable'; url: string; reason: string };

export const describeFailure = (err: unknown): string => {
  const e = err as Partial<ApiError>;
  if (e?.code === 'unavailable' || e?.status === 0) return e.message?.replace(/; start it with `trainyard serve`$/, '') ?? 'the backend cannot be reached';
  return e?.message ?? String(err);
};

export class Connection implements vscode.Disposable {
  private built: TrainyardClient | null = null;
  /** the token in use (for the dashboard link's fragment); never sent to a webview */
  token: string | undefined;
  state: ConnState;
  private readonly stateEmitter = new vscode.EventEmitter<ConnState>();
  private readonly eventsEmitter = new vscode.EventEmitter<TrainyardEvent[]>();
  private readonly reconnectEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeState = this.stateEmitter.event;
  /** batches of live events */
  readonly onEvents = this.eventsEmitter.event;
  /** the event stream (re)opened: reload everything once */
  readonly onDidReconnect = this.reconnectEmitter.event;
  private loop: AbortController | null = null;
  private wake: (() => void) | null = null;
  private readonly batcher = new Batcher<TrainyardEvent>(200, (b) => this.eventsEmitter.fire(b));
  private generation = 0;

  constructor(private readonly secrets: SecretStore) {
    const s = readSettings();
    this.state = { kind: 'connecting', url: s.url };
  }

  /** the API client (built on first use: the HTTP library is not loaded during activate) */
  get client(): TrainyardClient {
    return (this.built ??= new (heavy().TrainyardClient)({ baseUrl: this.state.url, ...(this.token ? { token: this.token } : {}), timeoutMs: 15000 }));
  }
  get url(): string { return this.state.url; }
  get connected(): boolean { return this.state.kind === 'connected'; }

  private setState(s: ConnState): void {
    const same = JSON.stringify(s) === JSON.stringify(this.state);
    this.state = s;
    if (!same) this.stateEmitter.fire(s);
  }

  /** (Re)build the client from the settings and the token, then run the event loop. */
  async connect(): Promise<void> {
    this.loop?.abort();
    const gen = ++this.generation;
    const s = readSettings();
    if (s.problem) void vscode.window.showWarningMessage(`Trainyard: ${s.problem}; using ${s.url}.`);
    this.setState({ kind: 'connecting', url: s.url });
    const tok = await resolveToken(this.secrets, s.url);
    if (gen !== this.generation) return;
    this.token = tok?.token;
    this.built = new (heavy().TrainyardClient)({ baseUrl: s.url, token: tok?.token, timeoutMs: 15000 });
    const ac = new AbortController();
    this.loop = ac;
    void this.run(ac.signal, tok?.source ?? 'none');
  }

  /** retry now instead of after the current backoff delay */
  retryNow(): void {
    if (this.state.kind === 'unauthorized') { void this.connect(); return; }
    const w = this.wake; this.wake = null; w?.();
  }

  private async run(signal: AbortSignal, tokenSource: string): Promise<void> {
    const backoff = new Backoff();
    while (!signal.aborted) {
      try {
        const health = await this.client.health();
        await this.client.listHardware(); // proves the token
        if (signal.aborted) return;
        for await (const e of this.client.events({ signal, onOpen: () => {
          backoff.reset();
          this.setState({ kind: 'connected', url: this.url, version: health.version, tokenSource });
          this.reconnectEmitter.fire();
        } })) this.batcher.push(e);
        if (signal.aborted) return;
        this.setState({ kind: 'unreachable', url: this.url, reason: 'the event stream ended (backend restarting?)' });
      } catch (err) {
        if (signal.aborted) return;
        const e = err as ApiError;
        if (e?.status === 401 || e?.code === 'unauthorized') {
          this.setState({ kind: 'unauthorized', url: this.url, reason: tokenSource === 'none' ? 'no token: use Sign In' : `the token (${tokenSource}) was refused` });
          return; // a new token is needed: Sign In calls connect()
        }
        const was = this.state.kind === 'connected';
        const reason = err instanceof Error && !('code' in err && typeof (err as ApiError).status === 'number') ? `lost the connection (${err.message})` : describeFailure(err);
        this.setState({ kind: 'unreachable', url: this.url, reason: was ? `${reason}; retrying` : reason });
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff.next());
        this.wake = () => { clearTimeout(t); r(); };
        signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
      });
    }
  }

  dispose(): void {
    this.loop?.abort();
    this.batcher.dispose();
    this.stateEmitter.dispose();
    this.eventsEmitter.dispose();
    this.reconnectEmitter.dispose();
  }
}
