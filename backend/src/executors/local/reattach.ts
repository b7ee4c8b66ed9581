/**
 * What to do, at start(), with a run the store still has as Pending/Running.
 *
 * The store's ref is trusted first (its log offsets are what the store has);
 * without one, proc.json in the run dir (written right after spawning)
 * tells whether a process was started before the backend went down, which
 * covers a crash between spawning and storing started(): the run is adopted
 * (started() is reported now) instead of being launched a second time.
 * A Pending run with no process is queued again, unless it was cancelled while
 * queued (the `cancelled` marker, written before the cancel is reported: the
 * store may not have taken that report). Everything else gets a
 * RunMonitor, whose first tick settles it: alive (same pid AND start time)
 * => keep tailing from the stored offsets; exit file => finish with the real
 * exit code after ingesting the remaining log bytes; neither => lost.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActiveRun } from '../executor';
import { makeRef, parseRef, type LocalRunRef } from './ref';
import { readProcFile } from './wrapper';

export type Reattach =
  | { kind: 'queue' }
  | { kind: 'cancelled' }
  | { kind: 'monitor'; ref: LocalRunRef; startedAt: string; reportStarted: boolean };

export async function reattach(a: ActiveRun, runDir: string): Promise<Reattach> {
  const stored = parseRef(a.ref);
  const proc = await readProcFile(runDir);
  const reportStarted = a.status === 'Pending';
  if (stored) {
    return { kind: 'monitor', ref: stored, startedAt: a.startedAt ?? proc?.startedAt ?? new Date().toISOString(), reportStarted };
  }
  if (proc) {
    // nothing of this attempt's logs reached the store: read them from the start
    return { kind: 'monitor', ref: makeRef(proc.mode, proc, proc.container), startedAt: a.startedAt ?? proc.startedAt, reportStarted };
  }
  if (a.status === 'Pending') return (await exists(join(runDir, 'cancelled'))) ? { kind: 'cancelled' } : { kind: 'queue' };
  // Running, but neither the store nor the run dir says which process: it can only be settled
  // by an exit file, or reported lost (pid 0 is never alive and never signalled).
  const none = makeRef('process', { pid: 0, startTime: '0', bootId: 'unknown' }, null);
  return { kind: 'monitor', ref: none, startedAt: a.startedAt ?? new Date().toISOString(), reportStarted: false };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
