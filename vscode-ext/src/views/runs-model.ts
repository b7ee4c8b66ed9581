/**
 * The Runs tree's pure part (no VS Code import; unit-tested under event bursts): the loaded
 * runs, grouped by sweep, newest first, with paging (a cursor and a "Load more" node) and a
 * scope filter (mine / this model / all). `apply(batch)` folds a batch of run events in and says
 * what to refresh: only the nodes that changed, or the root when something was added.
 * Node objects are cached per key so VS Code can refresh one element by identity.
 */
import type { Run } from '@trainyard/shared/schemas/runs';

export type Scope = { kind: 'all' } | { kind: 'model'; model: string } | { kind: 'mine'; user: string };
export type RunNode =
  | { kind: 'sweep'; key: string; sweepId: string }
  | { kind: 'run'; key: string; runId: string }
  | { kind: 'more'; key: 'more' };

export interface Refresh { root: boolean; nodes: RunNode[] }

const newestFirst = (a: Run, b: Run) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export class RunsModel {
  readonly runs = new Map<string, Run>();
  nextCursor: string | null = null;
  scope: Scope = { kind: 'all' };
  private readonly sweeps = new Map<string, Set<string>>();
  private readonly nodes = new Map<string, RunNode>();
  private rootsCache: RunNode[] | null = null;

  matches(r: Run): boolean {
    if (this.scope.kind === 'model') return r.model === this.scope.model;
    if (this.scope.kind === 'mine') return r.createdBy === this.scope.user;
    return true;
  }

  /** the API query for the current scope (the server filters; matches() keeps events in scope) */
  query(): { model?: string; createdBy?: string } {
    return this.scope.kind === 'model' ? { model: this.scope.model } : this.scope.kind === 'mine' ? { createdBy: this.scope.user } : {};
  }

  clear(): void {
    this.runs.clear();
    this.sweeps.clear();
    this.nextCursor = null;
    this.rootsCache = null;
  }

  /** a page from GET /v1/runs (append: a "Load more") */
  addPage(items: Run[], nextCursor: string | null): void {
    for (const r of items) if (this.matches(r)) this.put(r);
    this.nextCursor = nextCursor;
    this.rootsCache = null;
  }

  private put(r: Run): void {
    this.runs.set(r.id, r);
    if (r.sweepId) {
      let s = this.sweeps.get(r.sweepId);
      if (!s) this.sweeps.set(r.sweepId, (s = new Set()));
      s.add(r.id);
    }
  }

  /** the oldest run loaded: an updated run older than it belongs to a page not loaded yet */
  private oldest(): Run | null {
    let o: Run | null = null;
    for (const r of this.runs.values()) if (!o || newestFirst(r, o) > 0) o = r;
    return o;
  }

  /** Folds in a batch of run updates (the latest state of each run wins). */
  apply(batch: Run[]): Refresh {
    const latest = new Map<string, Run>();
    for (const r of batch) latest.set(r.id, r);
    let root = false;
    const changed = new Map<string, RunNode>();
    const oldest = this.nextCursor ? this.oldest() : null;
    for (const r of latest.values()) {
      const had = this.runs.get(r.id);
      if (!this.matches(r)) continue;
      if (!had) {
        if (oldest && newestFirst(r, oldest) > 0) continue; // on a later page
        const newSweep = r.sweepId !== null && !this.sweeps.has(r.sweepId);
        this.put(r);
        if (r.sweepId && !newSweep) changed.set(`sweep:${r.sweepId}`, this.node({ kind: 'sweep', key: `sweep:${r.sweepId}`, sweepId: r.sweepId }));
        else root = true;
        continue;
      }
      this.put(r);
      changed.set(`run:${r.id}`, this.runNode(r.id));
      if (r.sweepId) changed.set(`sweep:${r.sweepId}`, this.node({ kind: 'sweep', key: `sweep:${r.sweepId}`, sweepId: r.sweepId }));
    }
    if (root) this.rootsCache = null;
    return { root, nodes: root ? [] : [...changed.values()] };
  }

  private node<T extends RunNode>(n: T): T {
    const had = this.nodes.get(n.key);
    if (had) return had as T;
    this.nodes.set(n.key, n);
    return n;
  }
  runNode(id: string): RunNode { return this.node({ kind: 'run', key: `run:${id}`, runId: id }); }

  roots(): RunNode[] {
    if (this.rootsCache) return this.rootsCache;
    const firstOfSweep = new Map<string, Run>();
    const tops: Run[] = [];
    for (const r of this.runs.values()) {
      if (!r.sweepId) { tops.push(r); continue; }
      const f = firstOfSweep.get(r.sweepId);
      if (!f || newestFirst(r, f) < 0) firstOfSweep.set(r.sweepId, r);
    }
    tops.push(...firstOfSweep.values());
    tops.sort(newestFirst);
    const out: RunNode[] = tops.map((r) => (r.sweepId ? this.node({ kind: 'sweep', key: `sweep:${r.sweepId}`, sweepId: r.sweepId }) : this.runNode(r.id)));
    if (this.nextCursor) out.push(this.node({ kind: 'more', key: 'more' }));
    this.rootsCache = out;
    return out;
  }

  /** a sweep's runs in sweep order */
  members(sweepId: string): Run[] {
    const ids = this.sweeps.get(sweepId);
    if (!ids) return [];
    return [...ids].map((id) => this.runs.get(id)!).sort((a, b) => (a.sweepIndex ?? 0) - (b.sweepIndex ?? 0) || newestFirst(b, a));
  }
}

/** "3 runs · 2 Succeeded, 1 Running" */
export function sweepSummary(runs: Run[]): string {
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return `${runs.length} run${runs.length === 1 ? '' : 's'} · ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function runSecondsOf(r: Run, now = Date.now()): number | null {
  if (!r.startedAt) return null;
  return ((r.finishedAt ? Date.parse(r.finishedAt) : now) - Date.parse(r.startedAt)) / 1000;
}

/** status · hardware · duration · cost */
export function runDescription(r: Run, now = Date.now()): string {
  const cost = r.actualCost ?? r.estimatedCost;
  const parts = [r.status, r.hardware, formatDuration(runSecondsOf(r, now)), cost !== null ? `$${cost.toFixed(cost < 1 ? 4 : 2)}${r.actualCost === null ? ' est.' : ''}` : ''];
  return parts.filter(Boolean).join(' · ');
}

/** the params that differ between a sweep's runs (its axes, as far as the loaded runs show) */
export function varyingKeys(runs: Run[]): Set<string> {
  const out = new Set<string>();
  const first = runs[0]?.params ?? {};
  for (const r of runs) for (const [k, v] of Object.entries(r.params)) if (first[k] !== v) out.add(k);
  return out;
}

/** a sweep member: its index and the params that vary; a single run: model, entrypoint and params */
export function runLabel(r: Run, varying?: Set<string>): string {
  const entries = Object.entries(r.params).filter(([k]) => !varying?.size || varying.has(k));
  const params = entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return r.sweepId ? `#${(r.sweepIndex ?? 0) + 1} ${params || r.id}` : `${r.model} ${r.entrypoint}${params ? ` ${params}` : ''}`;
}
