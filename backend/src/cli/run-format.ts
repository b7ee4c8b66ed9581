/** How a run reads in text: its duration so far, its cost (actual, or ~estimated), its params. */
import type { Run } from '@trainyard/shared';
import { duration, money } from './output';

export function runDurationMs(run: Run, now: Date): number | null {
  if (!run.startedAt) return null;
  const end = run.finishedAt ? Date.parse(run.finishedAt) : now.getTime();
  return end - Date.parse(run.startedAt);
}

export function runDuration(run: Run, now: Date): string {
  return duration(runDurationMs(run, now));
}

/** actual cost when known, else the estimate marked with "~" */
export function runCost(run: Run): string {
  if (run.actualCost !== null) return money(run.actualCost);
  if (run.estimatedCost !== null) return `~${money(run.estimatedCost)}`;
  return '-';
}

export function isFinal(status: string): boolean {
  return status === 'Succeeded' || status === 'Failed' || status === 'Cancelled';
}
