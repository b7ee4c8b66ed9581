/**
 * Launch Training (Quick): QuickPicks for the version, the hardware (price and fits now / will
 * queue / will queue: scale-up expected / cannot fit with the reason; cannot-fit items are shown but refuse to be picked), the
 * params, then a confirmation with the estimate. Also Pick Default Hardware and Launch Training…
 */
import * as vscode from 'vscode';
import type { HardwareWithAvailability } from '@trainyard/shared/schemas/hardware';
import type { LaunchRequest } from '@trainyard/shared/schemas/launch';
import { Commands } from '../commands';
import type { Deps } from '../deps';
import { describeFailure } from '../connection/connection';
import { modelOfFolder } from '../workspace';
import { parseParams } from './params';

const FIT: Record<HardwareWithAvailability['availability']['status'], string> = { 'fits-now': '$(pass) fits now', 'will-queue': '$(clock) will queue', 'cannot-fit': '$(error) cannot fit' };
const fit = (a: HardwareWithAvailability['availability']) => (a.status === 'will-queue' && a.scaleUp ? '$(clock) will queue: scale-up expected' : FIT[a.status]);

export function hardwareItems(items: HardwareWithAvailability[], current?: string): Array<vscode.QuickPickItem & { name: string; fits: boolean }> {
  return items.map((h) => ({
    label: h.name,
    description: `$${h.pricePerHour.toFixed(2)}/h · ${h.cpu} CPU · ${h.memory}${h.gpu?.count ? ` · ${h.gpu.count}× ${h.gpu.type}` : ''} · ${fit(h.availability)}${h.name === current ? ' · default' : ''}`,
    detail: h.availability.reason,
    name: h.name,
    fits: h.availability.status !== 'cannot-fit',
  }));
}

/** a hardware pick that refuses cannot-fit items (they stay visible with their reason) */
export function pickHardware(items: HardwareWithAvailability[], title: string, current?: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<ReturnType<typeof hardwareItems>[number]>();
    qp.title = title;
    qp.items = hardwareItems(items, current);
    const cur = qp.items.find((i) => i.name === current);
    if (cur) qp.activeItems = [cur];
    let done = false;
    qp.onDidAccept(() => {
      const it = qp.selectedItems[0] ?? qp.activeItems[0];
      if (!it) return;
      if (!it.fits) { qp.placeholder = `${it.name} cannot fit: ${it.detail}`; return; }
      done = true; resolve(it.name); qp.hide();
    });
    qp.onDidHide(() => { if (!done) resolve(undefined); qp.dispose(); });
    qp.show();
  });
}

async function workspaceModel(): Promise<string | undefined> {
  for (const f of vscode.workspace.workspaceFolders ?? []) { const m = await modelOfFolder(f); if (m) return m; }
  return undefined;
}

export function register(context: vscode.ExtensionContext, deps: Deps): void {
  const client = () => deps.conn.client;
  const fail = (what: string, err: unknown) => void vscode.window.showErrorMessage(`Trainyard: ${what}: ${describeFailure(err)}`);
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.launch, async (arg?: { model?: { name: string }; version?: { model: string; label: string } }) => {
      const model = arg?.version?.model ?? arg?.model?.name ?? (await workspaceModel());
      deps.openPanel({ kind: 'launch', ...(model ? { model } : {}), ...(arg?.version ? { version: arg.version.label } : {}) });
    }),
    vscode.commands.registerCommand(Commands.pickHardware, async () => {
      try {
        const { items } = await client().listHardware();
        const name = await pickHardware(items, 'Default hardware for this workspace', deps.defaultHardware());
        if (name) await deps.setDefaultHardware(name);
      } catch (err) { fail('could not list hardware', err); }
    }),
    vscode.commands.registerCommand(Commands.launchQuick, async () => {
      try {
        const models = (await client().listModels()).items.filter((m) => m.latestVersion);
        if (!models.length) { void vscode.window.showInformationMessage('Trainyard: no saved model yet. Run Save Model first.', 'Save Model').then((a) => a && vscode.commands.executeCommand(Commands.saveModel)); return; }
        const mine = await workspaceModel();
        const model = models.length === 1 ? models[0].name : (await vscode.window.showQuickPick(models.map((m) => ({ label: m.name, description: m.name === mine ? 'this workspace' : undefined })).sort((a, b) => Number(!a.description) - Number(!b.description)), { title: 'Launch: model' }))?.label;
        if (!model) return;
        const versions = [...(await client().listVersions(model)).items].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
        const v = await vscode.window.showQuickPick(versions.map((x, i) => ({ label: x.label, description: `${x.git.sha ? `git ${x.git.sha.slice(0, 7)}` : 'no git'}${x.git.dirty ? ' · ● uncommitted' : ''}${i === 0 ? ' · latest' : ''}`, detail: Object.keys(x.entrypoints).join(', ') })), { title: `Launch ${model}: version` });
        if (!v) return;
        const hw = await pickHardware((await client().listHardware()).items, `Launch ${model}:${v.label}: hardware`, deps.defaultHardware());
        if (!hw) return;
        let params: Record<string, string | number | boolean> = {};
        for (;;) {
          const text = await vscode.window.showInputBox({ title: `Launch ${model}:${v.label} on ${hw}: params`, prompt: 'key=value pairs separated by spaces (empty: none)', placeHolder: 'lr=0.05 epochs=20', validateInput: (t) => { const p = parseParams(t); return 'error' in p ? p.error : null; } });
          if (text === undefined) return;
          const p = parseParams(text);
          if ('params' in p) { params = p.params; break; }
        }
        const req: LaunchRequest = { model, version: v.label, hardware: hw, params };
        const est = await client().estimate(req);
        const go = await vscode.window.showInformationMessage(`Launch ${model}:${v.label} on ${hw}? Estimated $${est.totalCost.toFixed(4)} (${est.explanation})`, { modal: true }, 'Launch');
        if (go !== 'Launch') return;
        const result = await client().launch(req);
        deps.trackLaunch(result);
        const open = await vscode.window.showInformationMessage(`Launched run ${result.runs[0]?.id}.`, 'Open Results');
        if (open && result.runs[0]) deps.openPanel({ kind: 'run', runId: result.runs[0].id });
      } catch (err) { fail('launch failed', err); }
    }),
  );
}
