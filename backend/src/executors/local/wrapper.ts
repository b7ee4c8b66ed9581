/**
 * The run wrapper: a tiny `sh -c` script that owns one run for its whole life,
 * independent of the backend.
 *
 * The backend spawns it detached (Node's `detached: true` = setsid: a new
 * session and process group, no controlling terminal), unref'd, with no pipes
 * to the backend, so a backend crash or restart does not touch it. It:
 *  - runs the command under coreutils `timeout --signal=TERM --kill-after=10s`,
 *    so the max duration holds while the backend is down;
 *  - sends the command's stdout/stderr straight to files in the run dir
 *    (stdout.log, stderr.log), which the backend tails;
 *  - for podman runs, force-removes the container afterwards (in case the
 *    podman client was killed while the container lived on);
 *  - records "<exit code> <elapsed seconds>" into `exit` atomically
 *    (temp file + mv), which is how the backend learns the end even when the
 *    wrapper is not its child.
 *
 * Files of a run dir written here: stdout.log, stderr.log, wrapper.log, exit;
 * plus proc.json (the wrapper's identity, written by the backend right after
 * spawning, used when the backend crashed before started() was stored).
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeAtomic } from '@trainyard/shared/write-atomic';
import { join } from 'node:path';
import { identify, type ProcIdentity } from './proc';
import type { RunMode } from './ref';

export const KILL_AFTER_SECONDS = 10;

// $1 run dir, $2 max seconds, $3 cleanup shell command or "", then the command argv.
// Elapsed time comes from /proc/uptime with the shell's `read` builtin: no fork on the launch path.
const WRAPPER = `d=$1; secs=$2; cleanup=$3; shift 3
read up _ </proc/uptime; start=\${up%.*}
timeout --signal=TERM --kill-after=${KILL_AFTER_SECONDS}s "$secs" "$@" </dev/null >>"$d/stdout.log" 2>>"$d/stderr.log"
code=$?
read up _ </proc/uptime; end=\${up%.*}
if [ -n "$cleanup" ]; then sh -c "$cleanup" >/dev/null 2>&1 </dev/null; fi
printf '%s %s\\n' "$code" "$((end - start))" >"$d/exit.tmp" && mv -f "$d/exit.tmp" "$d/exit"
`;

export interface WrapperSpec {
  runDir: string;
  maxSeconds: number;
  /** the command to run under timeout, argv[0] looked up on env.PATH */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** podman only: argv run after the command ends (e.g. podman rm -f the container) */
  cleanup?: string[];
}

export interface ExitRecord {
  code: number;
  elapsedSeconds: number;
}

/** Spawns the wrapper detached; resolves with its identity once it is running. */
export async function spawnWrapper(w: WrapperSpec): Promise<ProcIdentity> {
  const log = openSync(join(w.runDir, 'wrapper.log'), 'a');
  let pid: number | undefined;
  try {
    const child = spawn('/bin/sh', ['-c', WRAPPER, 'trainyard-wrapper', w.runDir, String(w.maxSeconds), w.cleanup ? w.cleanup.map(shQuote).join(' ') : '', ...w.argv], {
      cwd: w.cwd,
      env: w.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    pid = child.pid;
    child.on('error', () => {}); // reported below via missing pid
    child.unref();
  } finally {
    closeSync(log);
  }
  if (pid === undefined) throw new Error('could not start /bin/sh for the run wrapper');
  // A wrapper that already ended is still a zombie child of ours until Node reaps it; if even that is gone
  // we still know the pid, and the exit file tells the rest.
  return (await identify(pid)) ?? { pid, startTime: '0', bootId: 'gone' };
}

export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function readExit(runDir: string): Promise<ExitRecord | null> {
  let text: string;
  try {
    text = await readFile(join(runDir, 'exit'), 'utf8');
  } catch {
    return null;
  }
  const m = /^(\d+)(?:\s+(\d+))?/.exec(text.trim());
  if (!m) return null;
  return { code: Number(m[1]), elapsedSeconds: m[2] === undefined ? 0 : Number(m[2]) };
}

/** What proc.json holds: the wrapper's identity and how the run runs, written right after spawning. */
export interface ProcFile extends ProcIdentity {
  mode: RunMode;
  container: string | null;
  startedAt: string;
}

export async function writeProcFile(runDir: string, p: ProcFile): Promise<void> {
  await writeAtomic(join(runDir, 'proc.json'), JSON.stringify(p));
}

export async function readProcFile(runDir: string): Promise<ProcFile | null> {
  try {
    const v = JSON.parse(await readFile(join(runDir, 'proc.json'), 'utf8')) as Partial<ProcFile>;
    if (
      typeof v.pid === 'number' &&
      typeof v.startTime === 'string' &&
      typeof v.bootId === 'string' &&
      (v.mode === 'process' || v.mode === 'podman') &&
      typeof v.startedAt === 'string'
    ) {
      return { pid: v.pid, startTime: v.startTime, bootId: v.bootId, mode: v.mode, container: v.container ?? null, startedAt: v.startedAt };
    }
  } catch {
    /* none */
  }
  return null;
}

