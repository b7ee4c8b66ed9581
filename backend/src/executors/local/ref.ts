/**
 * The opaque ref the local executor reports with started() and log(), and
 * gets back in ActiveRun.ref after a restart: which process is the run
 * (pid + start time + boot id, so a reused pid is never taken for it), how it
 * runs (process sandbox or podman), and how far each log file has been
 * consumed (byte offsets of the first byte not yet sent, plus whether we are
 * in the middle of skipping an over-long line), so nothing is re-sent or lost.
 */
import type { ProcIdentity } from './proc';

export type RunMode = 'process' | 'podman';

export interface StreamPos {
  offset: number;
  /** true while discarding the rest of an over-long line (up to its newline) */
  skipping: boolean;
}

export interface LocalRunRef {
  kind: 'local';
  mode: RunMode;
  pid: number;
  startTime: string;
  bootId: string;
  /** podman only */
  container: string | null;
  stdout: StreamPos;
  stderr: StreamPos;
}

export function makeRef(mode: RunMode, id: ProcIdentity, container: string | null): LocalRunRef {
  return {
    kind: 'local',
    mode,
    pid: id.pid,
    startTime: id.startTime,
    bootId: id.bootId,
    container,
    stdout: { offset: 0, skipping: false },
    stderr: { offset: 0, skipping: false },
  };
}

export function refIdentity(ref: LocalRunRef): ProcIdentity {
  return { pid: ref.pid, startTime: ref.startTime, bootId: ref.bootId };
}

function pos(v: unknown): StreamPos | null {
  if (!v || typeof v !== 'object') return null;
  const p = v as Record<string, unknown>;
  if (typeof p.offset !== 'number' || !Number.isSafeInteger(p.offset) || p.offset < 0) return null;
  return { offset: p.offset, skipping: p.skipping === true };
}

/** Validates a ref read back from the store; null when it is not one of ours (or is damaged). */
export function parseRef(v: unknown): LocalRunRef | null {
  if (!v || typeof v !== 'object') return null;
  const r = v as Record<string, unknown>;
  if (r.kind !== 'local' || (r.mode !== 'process' && r.mode !== 'podman')) return null;
  if (typeof r.pid !== 'number' || !Number.isSafeInteger(r.pid) || r.pid <= 0) return null;
  if (typeof r.startTime !== 'string' || typeof r.bootId !== 'string') return null;
  const stdout = pos(r.stdout);
  const stderr = pos(r.stderr);
  if (!stdout || !stderr) return null;
  return {
    kind: 'local',
    mode: r.mode,
    pid: r.pid,
    startTime: r.startTime,
    bootId: r.bootId,
    container: typeof r.container === 'string' ? r.container : null,
    stdout,
    stderr,
  };
}
