/** RunList's pure part: filter, sort, and group runs by sweep into the flat rows the virtual list renders. */
import type { Run, RunStatus } from '../schemas/runs';

export type SortKey = 'newest' | 'oldest' | 'status' | 'cost' | 'duration' | 'model';
export interface RunFilter { status?: RunStatus | ''; model?: string; sweep?: string; text?: string }
export type Row =
  | { kind: 'group'; sweepId: string; runs: Run[]; collapsed: boolean }
  | { kind: 'run'; run: Run; inGroup: boolean };

const RANK: Record<RunStatus, number> = { Pending: 0, Running: 1, Succeeded: 2, Failed: 2, Cancelled: 2 };

/**
 * Of two snapshots of one run, the one to keep: a snapshot read by a reload (GET) may have been
 * taken before an event that has already arrived, so it never takes a run back to an earlier
 * status (a final one stays final); at the same status the one read later wins.
 */
export function newerRun(have: Run | undefined, got: Run): Run {
  return !have || have.id !== got.id || RANK[got.status] >= RANK[have.status] ? got : have;
}

const STATUS_ORDER: Record<RunStatus, number> = { Running: 0, Pending: 1, Failed: 2, Cancelled: 3, Succeeded: 4 };

function secs(r: Run, now: number): number {
  if (!r.startedAt) return -1;
  return (r.finishedAt ? Date.parse(r.finishedAt) : now) - Date.parse(r.startedAt);
}

export function compareRuns(sort: SortKey, now = Date.now()): (a: Run, b: Run) => number {
  const newest = (a: Run, b: Run) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1);
  switch (sort) {
    case 'oldest': return (a, b) => -newest(a, b);
    case 'status': return (a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || newest(a, b);
    case 'cost': return (a, b) => (b.actualCost ?? b.estimatedCost ?? -1) - (a.actualCost ?? a.estimatedCost ?? -1) || newest(a, b);
    case 'duration': return (a, b) => secs(b, now) - secs(a, now) || newest(a, b);
    case 'model': return (a, b) => a.model.localeCompare(b.model) || newest(a, b);
    default: return newest;
  }
}

export function matches(r: Run, f: RunFilter): boolean {
  if (f.status && r.status !== f.status) return false;
  if (f.model && r.model !== f.model) return false;
  if (f.sweep && r.sweepId !== f.sweep) return false;
  if (f.text) {
    const t = f.text.toLowerCase();
    if (!r.id.includes(t) && !r.version.toLowerCase().includes(t) && !JSON.stringify(r.params).toLowerCase().includes(t) && !(r.sweepId ?? '').includes(t)) return false;
  }
  return true;
}

export function buildRows(runs: Iterable<Run>, filter: RunFilter, sort: SortKey, group: boolean, collapsed: ReadonlySet<string>, now = Date.now()): { rows: Row[]; count: number } {
  const list: Run[] = [];
  for (const r of runs) if (matches(r, filter)) list.push(r);
  list.sort(compareRuns(sort, now));
  if (!group) return { rows: list.map((run) => ({ kind: 'run', run, inGroup: false })), count: list.length };
  const groups = new Map<string, Run[]>();
  for (const r of list) {
    const key = r.sweepId ?? `run:${r.id}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const rows: Row[] = [];
  for (const [key, members] of groups) {
    if (key.startsWith('run:') || members.length === 0) {
      rows.push({ kind: 'run', run: members[0], inGroup: false });
      continue;
    }
    const isCollapsed = collapsed.has(key);
    rows.push({ kind: 'group', sweepId: key, runs: members, collapsed: isCollapsed });
    if (!isCollapsed) for (const run of members) rows.push({ kind: 'run', run, inGroup: true });
  }
  return { rows, count: list.length };
}

export function statusSummary(runs: Run[]): string {
  const n = new Map<string, number>();
  for (const r of runs) n.set(r.status, (n.get(r.status) ?? 0) + 1);
  return (['Running', 'Pending', 'Succeeded', 'Failed', 'Cancelled'] as const).filter((s) => n.get(s)).map((s) => `${n.get(s)} ${s}`).join(' · ');
}
