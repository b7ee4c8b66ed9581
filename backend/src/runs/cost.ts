/** Prices: estimated before a launch, actual after a run. All money in USD, rounded to 1/10000. */
import type { Estimate, HardwareProfile } from '@trainyard/shared';

export const round4 = (n: number) => Math.round(n * 10000) / 10000;

export function actualCost(pricePerHour: number, startedAt: string | null, finishedAt: string): number {
  if (!startedAt) return 0;
  const seconds = Math.max(0, (Date.parse(finishedAt) - Date.parse(startedAt)) / 1000);
  return round4((pricePerHour * seconds) / 3600);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function estimate(count: number, profile: HardwareProfile, maxDurationSeconds: number, past: number[]): Estimate {
  const basis = past.length > 0 ? 'median-of-past-runs' : 'max-duration';
  const seconds = past.length > 0 ? median(past) : maxDurationSeconds;
  const total = round4((count * profile.pricePerHour * seconds) / 3600);
  const explanation =
    basis === 'median-of-past-runs'
      ? `${count} run(s) x $${profile.pricePerHour}/h x ${fmtSeconds(seconds)} (median of the last ${past.length} successful run(s) of this model on ${profile.name})`
      : `${count} run(s) x $${profile.pricePerHour}/h x ${fmtSeconds(seconds)} (the max duration: no past runs of this model on ${profile.name} yet, so this is an upper bound)`;
  return {
    runs: count,
    hardware: profile.name,
    pricePerHour: profile.pricePerHour,
    expectedSecondsPerRun: Math.round(seconds * 10) / 10,
    basis,
    pastRuns: past.length,
    totalCost: total,
    currency: 'USD',
    explanation,
  };
}

function fmtSeconds(s: number): string {
  if (s < 90) return `${Math.round(s * 10) / 10}s`;
  if (s < 5400) return `${Math.round((s / 60) * 10) / 10}min`;
  return `${Math.round((s / 3600) * 10) / 10}h`;
}
