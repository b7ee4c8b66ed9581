/** Finished-run notifications for launches made from this window: outcome, reason, cost, "Open Results". */
import * as vscode from 'vscode';
import type { LaunchResult } from '@trainyard/shared/schemas/launch-result';
import type { Connection } from '../connection/connection';
import type { PanelView } from '@trainyard/shared/protocol/messages';
import { readSettings } from '../connection/settings';
import { FinishTracker } from './finish-tracker';

export function createNotifier(conn: Connection, openPanel: (v: PanelView) => void): { track(r: LaunchResult): void; dispose(): void } {
  const tracker = new FinishTracker();
  const sub = conn.onEvents((batch) => {
    if (!tracker.size) return;
    for (const o of tracker.update(batch.flatMap((e) => (e.kind === 'run' ? [e.data] : [])))) {
      if (!readSettings().notify) continue;
      const ok = o.runs.every((r) => r.status === 'Succeeded');
      const what = o.kind === 'sweep' ? `Sweep ${o.id} (${o.runs[0].model}, ${o.runs.length} runs)` : `Run ${o.id} (${o.runs[0].model}:${o.runs[0].version})`;
      const text = `${what} finished: ${o.status}${o.reason ? ` — ${o.reason}` : ''}; cost $${o.cost.toFixed(4)}.`;
      const show = ok ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
      void show(text, 'Open Results').then((a) => {
        if (a) openPanel(o.kind === 'sweep' ? { kind: 'sweep', sweepId: o.id } : { kind: 'run', runId: o.id });
      });
    }
  });
  return { track: (r) => tracker.track(r), dispose: () => sub.dispose() };
}
