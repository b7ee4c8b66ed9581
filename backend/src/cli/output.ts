/**
 * Human output for the CLI: aligned tables, durations, money, sizes, relative
 * times and status colours. Pure functions of their inputs (the clock and the
 * colour switch are passed in), so they are tested without a terminal.
 * Colour is on only when stdout is a TTY and NO_COLOR is unset (see deps.ts).
 */

const ANSI = /\x1b\[[0-9;]*m/g;

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const wrap = (on: boolean, open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s);

export function style(color: boolean): Style {
  return {
    bold: wrap(color, 1, 22),
    dim: wrap(color, 2, 22),
    red: wrap(color, 31, 39),
    green: wrap(color, 32, 39),
    yellow: wrap(color, 33, 39),
    cyan: wrap(color, 36, 39),
  };
}

export function colorEnabled(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return Boolean(isTTY) && env.NO_COLOR === undefined;
}

export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** Columns separated by two spaces, each as wide as its widest cell; no trailing spaces. */
export function table(headers: string[], rows: string[][], st: Style = style(false)): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - visibleLength(c))))
      .join('  ')
      .trimEnd();
  return [st.bold(line(headers.map((h) => h.toUpperCase()))), ...rows.map((r) => line(headers.map((_, i) => r[i] ?? '')))];
}

/** "key  value" lines with the keys aligned. */
export function details(pairs: Array<[string, string]>, st: Style = style(false)): string[] {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${st.dim(k.padEnd(w))}  ${v}`);
}

/** 850ms, 1.3s, 42s, 3m 05s, 1h 02m, 2d 03h */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`; // a save of 1.3 s is not "1s"
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const p = (n: number) => String(n).padStart(2, '0');
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${p(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${p(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${p(h % 24)}h`;
}

/** $0.0123 below a dollar (small runs matter), $12.34 above. */
export function money(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return '-';
  return Math.abs(usd) < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** "just now", "5m ago", "in 3h"; past 30 days the date itself. */
export function relative(iso: string | null | undefined, now: Date): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = t - now.getTime();
  const s = Math.round(Math.abs(diff) / 1000);
  if (s < 5) return 'just now';
  let text: string;
  if (s < 60) text = `${s}s`;
  else if (s < 3600) text = `${Math.floor(s / 60)}m`;
  else if (s < 86400) text = `${Math.floor(s / 3600)}h`;
  else if (s < 30 * 86400) text = `${Math.floor(s / 86400)}d`;
  else return iso.slice(0, 10);
  return diff < 0 ? `${text} ago` : `in ${text}`;
}

export function statusText(status: string, st: Style): string {
  switch (status) {
    case 'Succeeded':
      return st.green(status);
    case 'Failed':
      return st.red(status);
    case 'Running':
      return st.cyan(status);
    case 'Pending':
      return st.yellow(status);
    case 'fits-now':
      return st.green(status);
    case 'will-queue':
    case 'will-queue: scale-up expected':
      return st.yellow(status);
    case 'cannot-fit':
      return st.red(status);
    default:
      return st.dim(status);
  }
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** k=v pairs in key order, values as the user would type them. */
export function formatParams(params: Record<string, unknown>): string {
  const keys = Object.keys(params).sort();
  return keys.map((k) => `${k}=${typeof params[k] === 'string' ? params[k] : JSON.stringify(params[k])}`).join(' ');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
