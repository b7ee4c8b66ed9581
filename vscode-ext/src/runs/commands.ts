/**
 * The run commands (palette and the Runs view's context menu): Show Run Results, Compare Sweep
 * Runs, Follow Logs (an OutputChannel per run, live until the run ends), Cancel Run (confirmed),
 * Relaunch (same version, entrypoint, hardware and params). A command run from the palette
 * without a run asks for one.
 */
import * as vscode from 'vscode';
import type { Run } from '@trainyard/shared/schemas/runs';
import { Commands } from '../commands';
import type { Deps } from '../deps';
import { describeFailure } from '../connection/connection';

type RunArg = { runId?: string; run?: Run } | string | undefined;

async function resolveRun(deps: Deps, arg: RunArg, onlyActive = false): Promise<Run | undefined> {
  const id = typeof arg === 'string' ? arg : arg?.runId ?? arg?.run?.id;
  try {
    if (id) return await deps.conn.client.getRun(id);
    const page = await deps.conn.client.listRuns({ limit: 100, ...(onlyActive ? { status: 'Running' as const } : {}) });
    const pick = await vscode.window.showQuickPick(page.items.map((r) => ({ label: r.id, description: `${r.status} · ${r.model}:${r.version} ${r.entrypoint}`, run: r })), { title: 'Which run?' });
    return pick?.run;
  } catch (err) {
    void vscode.window.showErrorMessage(`Trainyard: ${describeFailure(err)}`);
    return undefined;
  }
}

export function register(context: vscode.ExtensionContext, deps: Deps): void {
  const follows = new Map<string, AbortController>();
  context.subscriptions.push({ dispose: () => { for (const a of follows.values()) a.abort(); } });
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.showRun, async (arg: RunArg) => {
      const id = typeof arg === 'string' ? arg : arg?.runId ?? arg?.run?.id ?? (await resolveRun(deps, undefined))?.id;
      if (id) deps.openPanel({ kind: 'run', runId: id });
    }),
    vscode.commands.registerCommand(Commands.showSweep, async (arg?: { sweepId?: string }) => {
      const id = arg?.sweepId ?? (await resolveRun(deps, undefined))?.sweepId;
      if (id) deps.openPanel({ kind: 'sweep', sweepId: id });
      else void vscode.window.showInformationMessage('Trainyard: that run is not part of a sweep.');
    }),
    vscode.commands.registerCommand(Commands.followLogs, async (arg: RunArg) => {
      const run = await resolveRun(deps, arg);
      if (!run) return;
      const out = vscode.window.createOutputChannel(`Trainyard run ${run.id}`);
      context.subscriptions.push(out);
      out.show(true);
      follows.get(run.id)?.abort();
      const ac = new AbortController();
      follows.set(run.id, ac);
      try {
        for await (const l of deps.conn.client.followLogs(run.id, { after: -1, signal: ac.signal })) out.appendLine(l.stream === 'stderr' ? `[err] ${l.text}` : l.text);
        const end = await deps.conn.client.getRun(run.id);
        out.appendLine(`— run ${end.status}${end.reason ? `: ${end.reason}` : ''}`);
      } catch (err) {
        if (!ac.signal.aborted) out.appendLine(`— log stream lost: ${describeFailure(err)} (run Follow Logs again)`);
      } finally {
        if (follows.get(run.id) === ac) follows.delete(run.id);
      }
    }),
    vscode.commands.registerCommand(Commands.cancelRun, async (arg: RunArg) => {
      const run = await resolveRun(deps, arg, true);
      if (!run) return;
      const ok = await vscode.window.showWarningMessage(`Cancel run ${run.id} (${run.model}:${run.version}, ${run.status})? It stops now; its logs and metrics so far are kept.`, { modal: true }, 'Cancel Run');
      if (ok !== 'Cancel Run') return;
      try {
        const r = await deps.conn.client.cancelRun(run.id);
        const final = r.status === 'Succeeded' || r.status === 'Failed' || r.status === 'Cancelled';
        void vscode.window.showInformationMessage(final ? `Run ${r.id} is ${r.status}${r.reason ? ` (${r.reason})` : ''}.` : `Cancel requested: run ${r.id} is stopping; the Runs view shows Cancelled when it has.`);
      } catch (err) {
        void vscode.window.showErrorMessage(`Trainyard: could not cancel ${run.id}: ${describeFailure(err)}`);
      }
    }),
    vscode.commands.registerCommand(Commands.relaunch, async (arg: RunArg) => {
      const run = await resolveRun(deps, arg);
      if (!run) return;
      try {
        const result = await deps.conn.client.launch({ model: run.model, version: run.version, entrypoint: run.entrypoint, hardware: run.hardware, params: run.params, maxDurationMinutes: Math.max(1, Math.round(run.maxDurationSeconds / 60)) });
        deps.trackLaunch(result);
        const open = await vscode.window.showInformationMessage(`Relaunched ${run.id} as ${result.runs[0]?.id}.`, 'Open Results');
        if (open && result.runs[0]) deps.openPanel({ kind: 'run', runId: result.runs[0].id });
      } catch (err) {
        void vscode.window.showErrorMessage(`Trainyard: could not relaunch ${run.id}: ${describeFailure(err)}`);
      }
    }),
  );
}
