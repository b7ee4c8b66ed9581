/**
 * The editor <-> webview message protocol (VS Code panels; any host that can post
 * messages). The webview never holds a token and never talks HTTP: it asks the host.
 *
 *   webview                      host
 *   ready            ------->                      (handshake: the webview's listener is up)
 *                    <-------    init {view}       (what the panel shows; sent again on demand)
 *   request {id,m,a} ------->                      (one UiClient call, or saveArtifact: the host saves a file)
 *                    <-------    reply {id, ok, value | error}
 *   stream {id,m,a}  ------->                      (events / followLogs)
 *                    <-------    item {id,value}*, then end {id} or fail {id,error}
 *   cancel {id}      ------->                      (stop a stream; the host aborts its fetch)
 *   action {...}     ------->                      (open a run/sweep/model/source, launched, state)
 *
 * Ids are per webview, increasing integers. Every message is checked with `parseToHost` on the
 * host: a webview is not trusted to send well-formed data.
 */
import type { LaunchResult } from '../schemas/launch-result';
import type { ArtifactFile } from '../schemas/artifacts';
import { isArtifactPath } from '../artifact-path';

/** UiClient methods answered once (request/reply). */
export const REQUEST_METHODS = [
  'listModels', 'listVersions', 'listHardware', 'estimate', 'launch', 'listRuns', 'getRun', 'cancelRun',
  'getLogs', 'getMetrics', 'getVersion', 'listSchedules', 'deleteSchedule', 'getCosts', 'me',
  'listArtifacts',
] as const;
export type RequestMethod = (typeof REQUEST_METHODS)[number];

/**
 * What only the host can do, answered once like a request: saveArtifact(runId, file) asks the
 * editor to keep one artifact file (it picks where, downloads with its token, checks the sha256,
 * shows progress) and replies with where it went.
 */
export const HOST_METHODS = ['saveArtifact'] as const;
export type HostMethod = (typeof HOST_METHODS)[number];

/** UiClient methods that stream (async generators). */
export const STREAM_METHODS = ['events', 'followLogs'] as const;
export type StreamMethod = (typeof STREAM_METHODS)[number];

/** What a panel shows. */
export type PanelView =
  | { kind: 'launch'; model?: string; version?: string }
  | { kind: 'run'; runId: string }
  | { kind: 'sweep'; sweepId: string };

/** Something the webview asks the editor to do (outside the panel). */
export type PanelAction =
  | { action: 'openRun'; runId: string }
  | { action: 'openSweep'; sweepId: string }
  | { action: 'openModel'; model: string }
  | { action: 'openSource'; path: string; line: number; runId?: string }
  | { action: 'launched'; result: LaunchResult };

export interface WireError { status: number; code: string; message: string }

export type ToHost =
  | { type: 'ready' }
  | { type: 'request'; id: number; method: RequestMethod | HostMethod; args: unknown[] }
  | { type: 'stream'; id: number; method: StreamMethod; args: unknown[] }
  | { type: 'cancel'; id: number }
  | { type: 'action'; body: PanelAction };

export type ToWebview =
  | { type: 'init'; view: PanelView }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: WireError }
  | { type: 'item'; id: number; value: unknown }
  | { type: 'end'; id: number }
  | { type: 'fail'; id: number; error: WireError };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStr = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

function parseAction(b: unknown): PanelAction | null {
  if (!isObj(b)) return null;
  switch (b.action) {
    case 'openRun': return isStr(b.runId, 200) ? { action: 'openRun', runId: b.runId } : null;
    case 'openSweep': return isStr(b.sweepId, 200) ? { action: 'openSweep', sweepId: b.sweepId } : null;
    case 'openModel': return isStr(b.model, 200) ? { action: 'openModel', model: b.model } : null;
    case 'openSource':
      if (!isStr(b.path) || !Number.isSafeInteger(b.line) || (b.line as number) < 1) return null;
      return { action: 'openSource', path: b.path, line: b.line as number, ...(isStr(b.runId, 200) ? { runId: b.runId } : {}) };
    case 'launched':
      return isObj(b.result) && Array.isArray(b.result.runs) ? { action: 'launched', result: b.result as unknown as LaunchResult } : null;
    default: return null;
  }
}

/** A message from a webview, checked; null when it is not one of ours (it is then ignored). */
export function parseToHost(m: unknown): ToHost | null {
  if (!isObj(m)) return null;
  switch (m.type) {
    case 'ready': return { type: 'ready' };
    case 'cancel': return isId(m.id) ? { type: 'cancel', id: m.id } : null;
    case 'request':
      if (!isId(m.id) || !Array.isArray(m.args)) return null;
      if (!(REQUEST_METHODS as readonly unknown[]).includes(m.method) && !(HOST_METHODS as readonly unknown[]).includes(m.method)) return null;
      return { type: 'request', id: m.id, method: m.method as RequestMethod | HostMethod, args: m.args };
    case 'stream':
      if (!isId(m.id) || !Array.isArray(m.args) || !(STREAM_METHODS as readonly unknown[]).includes(m.method)) return null;
      return { type: 'stream', id: m.id, method: m.method as StreamMethod, args: m.args };
    case 'action': {
      const body = parseAction(m.body);
      return body ? { type: 'action', body } : null;
    }
    default: return null;
  }
}

/** Any thrown value as a WireError (an ApiError keeps its status and code). */
export function toWireError(err: unknown): WireError {
  const e = err as { status?: unknown; code?: unknown; message?: unknown };
  return {
    status: typeof e?.status === 'number' ? e.status : 0,
    code: typeof e?.code === 'string' ? e.code : 'internal',
    message: typeof e?.message === 'string' ? e.message : String(err),
  };
}

/** saveArtifact's arguments, checked: a run id and one file of its listing (a path that could leave a folder is refused). */
export function parseSaveArtifact(args: unknown[]): { runId: string; file: ArtifactFile } | null {
  const [runId, f] = args;
  if (!isStr(runId, 200) || !isObj(f)) return null;
  if (typeof f.path !== 'string' || !isArtifactPath(f.path) || !Number.isSafeInteger(f.size) || (f.size as number) < 0) return null;
  if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) return null;
  return { runId, file: { path: f.path, size: f.size as number, sha256: f.sha256 } };
}
