/**
 * /proc helpers for runs that are not (or no longer) our children.
 *
 * A run is identified by the wrapper's pid PLUS its start time (field 22 of
 * /proc/<pid>/stat, clock ticks since boot) PLUS the boot id, so a pid reused
 * by an unrelated process after the run ended (or after a reboot) is never
 * mistaken for the run. A zombie counts as gone: it has exited, and whoever
 * reaps it (init, after a backend restart) may never do so promptly.
 *
 * Killing: the wrapper is a session leader (setsid), but coreutils `timeout`
 * puts itself and the command into a process group of its own, so "the run"
 * is every process of the wrapper's session. We signal those process groups
 * (never the wrapper's own group, so the wrapper survives to write the exit
 * file), and only processes whose environment carries
 * TRAINYARD_RUN_ID=<run id>, which protects against a reused session id.
 */
import { readFile, readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';

export interface ProcIdentity {
  pid: number;
  /** /proc/<pid>/stat field 22, as a decimal string (may exceed 2^53 in theory) */
  startTime: string;
  bootId: string;
}

export interface ProcStat {
  pid: number;
  state: string;
  pgid: number;
  sid: number;
  startTime: string;
}

let cachedBootId: string | null = null;
export function bootId(): string {
  if (cachedBootId === null) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = 'unknown';
    }
  }
  return cachedBootId;
}

/** Parses /proc/<pid>/stat; the comm field may hold spaces and parentheses, so split after the last ')'. */
export function parseStat(pid: number, text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const f = text.slice(close + 2).split(' '); // f[0] is field 3 (state)
  if (f.length < 20) return null;
  return { pid, state: f[0], pgid: Number(f[2]), sid: Number(f[3]), startTime: f[19] };
}

export async function readStat(pid: number): Promise<ProcStat | null> {
  try {
    return parseStat(pid, await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** The identity of a process we just spawned (null if it is already gone). */
export async function identify(pid: number): Promise<ProcIdentity | null> {
  const st = await readStat(pid);
  return st ? { pid, startTime: st.startTime, bootId: bootId() } : null;
}

/** True when the process still exists, is not a zombie, and is the same process (start time and boot). */
export async function isAlive(id: ProcIdentity): Promise<boolean> {
  if (id.bootId !== bootId()) return false;
  const st = await readStat(id.pid);
  return st !== null && st.state !== 'Z' && st.startTime === id.startTime;
}

async function environHas(pid: number, entry: string): Promise<boolean> {
  try {
    const env = await readFile(`/proc/${pid}/environ`);
    return env.toString('utf8').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** Live processes of session `sid` that belong to run `runId` (by environment), excluding `exceptPid`. */
export async function runProcesses(sid: number, runId: string, exceptPid: number | null): Promise<ProcStat[]> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === exceptPid) continue;
    const st = await readStat(pid);
    if (!st || st.sid !== sid || st.state === 'Z') continue;
    if (await environHas(pid, `TRAINYARD_RUN_ID=${runId}`)) out.push(st);
  }
  return out;
}

/**
 * Sends `signal` to every process group of the run's session except the
 * wrapper's own (the wrapper must live on to record the exit code).
 * Returns how many processes were found.
 */
export async function signalRun(wrapper: ProcIdentity, runId: string, signal: NodeJS.Signals, includeWrapper = false): Promise<number> {
  if (wrapper.pid <= 1) return 0; // an unknown process: nothing to signal
  const procs = await runProcesses(wrapper.pid, runId, includeWrapper ? null : wrapper.pid);
  const groups = new Set<number>();
  for (const p of procs) {
    if (p.pgid === wrapper.pid && !includeWrapper) {
      // same group as the wrapper: signal the process itself, not the group
      tryKill(p.pid, signal);
    } else {
      groups.add(p.pgid);
    }
  }
  for (const g of groups) tryKill(-g, signal);
  if (includeWrapper && (await isAlive(wrapper))) tryKill(wrapper.pid, signal);
  return procs.length;
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}
