/**
 * What every bench shares: percentiles, a compact aligned table, the
 * `RATIO <figure> <a>/<b> = N.Nx` lines a bench ends with, and a
 * millisecond-tick-aligned wall clock (Date.now() right after it ticks is
 * exact to a few microseconds, so it can be compared with a timestamp that
 * another process took from the same realtime clock).
 */

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const median = (xs: number[]): number => percentile(xs, 50);

/** prints rows as an aligned table; numbers are shown as given (format them first) */
export function table(title: string, rows: Array<Record<string, string | number>>): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((v, i) => (i === 0 ? v.padEnd(width[i]) : v.padStart(width[i]))).join('  ');
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c]))));
}

export const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
export const perSec = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));

const ratios: string[] = [];
/** records a ratio line; printRatios() prints them all at the end of the bench */
export function ratio(figure: string, label: string, x: number): void {
  ratios.push(`RATIO ${figure} ${label} = ${x.toFixed(x < 10 ? 2 : 1)}x`);
}
export function printRatios(): void {
  console.log('');
  for (const r of ratios) console.log(r);
}

/** the realtime clock in ms, taken right after it ticked (busy-waits at most 1 ms) */
export function tickAlignedNow(): number {
  const t = Date.now();
  let n = Date.now();
  while (n === t) n = Date.now();
  return n;
}

export const sleep = (msDelay: number) => new Promise((r) => setTimeout(r, msDelay));

/** a small seeded PRNG (mulberry32), so generated data is the same in every run */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** runs async fn and prints how long it took, for the set-up steps */
export async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await fn();
  console.log(`${what}: ${ms(performance.now() - t)} ms`);
  return out;
}
