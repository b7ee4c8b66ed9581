/**
 * Turns what the wrapper recorded (exit code + elapsed seconds), plus whether
 * the user cancelled, into the run's final status and a plain-words reason.
 *
 * coreutils `timeout` exits 124 when it stopped the command at the deadline
 * and 137 when it had to SIGKILL it after the grace period; a command can
 * exit 124/137 on its own, so those count as "deadline" only when the run
 * really lasted its max duration (the wrapper records the elapsed time).
 * A shell reports "killed by signal N" as 128+N; podman exits 125 when it
 * could not run the container at all.
 */
import { constants } from 'node:os';
import type { FinalStatus } from '../executor';
import type { RunMode } from './ref';

export interface Outcome {
  status: FinalStatus;
  exitCode: number | null;
  reason: string | null;
}

export const CANCELLED_REASON = 'cancelled by user';
export const LOST_REASON = 'the backend lost track of this run (process gone, no exit status)';

export function durationWords(seconds: number): string {
  if (seconds % 60 === 0) {
    const m = seconds / 60;
    return `${m} minute${m === 1 ? '' : 's'}`;
  }
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}

export function signalName(n: number): string | null {
  for (const [name, num] of Object.entries(constants.signals)) if (num === n) return name;
  return null;
}

export function outcomeOf(args: {
  code: number;
  elapsedSeconds: number;
  maxSeconds: number;
  cancelled: boolean;
  mode: RunMode;
  lastStderrLine: string | null;
}): Outcome {
  const { code, elapsedSeconds, maxSeconds, cancelled, mode } = args;
  if (cancelled) return { status: 'Cancelled', exitCode: code, reason: CANCELLED_REASON };
  if (code === 0) return { status: 'Succeeded', exitCode: 0, reason: null };
  // the wrapper's clock has 1 s resolution: allow for it
  if ((code === 124 || code === 137) && elapsedSeconds >= maxSeconds - 1) {
    return { status: 'Failed', exitCode: code, reason: `exceeded max duration of ${durationWords(maxSeconds)}` };
  }
  const tail = args.lastStderrLine && args.lastStderrLine.length <= 200 ? `: ${args.lastStderrLine}` : '';
  if (mode === 'podman' && code === 125) {
    return { status: 'Failed', exitCode: code, reason: `podman could not run the container (exit 125)${tail}` };
  }
  if (code > 128 && code < 128 + 65) {
    const name = signalName(code - 128);
    const hint = code - 128 === 9 ? ' (out of memory, or killed from outside)' : '';
    return { status: 'Failed', exitCode: code, reason: `killed by signal ${name ?? code - 128}${hint}${tail}` };
  }
  return { status: 'Failed', exitCode: code, reason: `exited with code ${code}${tail}` };
}
