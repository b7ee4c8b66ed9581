/**
 * Which launches from this window have finished: a single run when it is final, a sweep when
 * all its runs are. Pure (unit-tested); notify.ts turns outcomes into notifications.
 */
import type { LaunchResult } from '@trainyard/shared/schemas/launch-result';
import type { Run } from '@trainyard/shared/schemas/runs';

export interface Outcome { kind: 'run' | 'sweep'; id: string; runs: Run[]; status: string; cost: number; reason: string | null }

const FINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);

export class FinishTracker {
  private readonly groups = new Map<string, Map<string, Run>>(); // launch key -> its runs
  private readonly runToGroup = new Map<string, string>();

  track(result: LaunchResult): void {
    if (result.schedule && !result.runs.length) return; // a schedule fires later: not this window's launch
    const key = result.sweep ? `sweep:${result.sweep.id}` : `run:${result.runs[0]?.id}`;
    if (!result.runs.length) return;
    const m = new Map(result.runs.map((r) => [r.id, r]));
    this.groups.set(key, m);
    for (const r of result.runs) this.runToGroup.set(r.id, key);
  }

  get size(): number { return this.groups.size; }

  /** fold in run updates; the launches that just finished */
  update(runs: Run[]): Outcome[] {
    const touched = new Set<string>();
    for (const r of runs) {
      const key = this.runToGroup.get(r.id);
      if (!key) continue;
      this.groups.get(key)!.set(r.id, r);
      touched.add(key);
    }
    const out: Outcome[] = [];
    for (const key of touched) {
      const members = [...this.groups.get(key)!.values()];
      if (!members.every((r) => FINAL.has(r.status))) continue;
      this.groups.delete(key);
      for (const r of members) this.runToGroup.delete(r.id);
      const counts = new Map<string, number>();
      for (const r of members) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      const status = members.length === 1 ? members[0].status : [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
      const failed = members.find((r) => r.status !== 'Succeeded');
      out.push({
        kind: key.startsWith('sweep:') ? 'sweep' : 'run',
        id: key.slice(key.indexOf(':') + 1),
        runs: members,
        status,
        cost: members.reduce((s, r) => s + (r.actualCost ?? 0), 0),
        reason: failed?.reason ?? null,
      });
    }
    return out;
  }
}
