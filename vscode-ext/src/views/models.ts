/**
 * The Models view (models → versions → entrypoints) and the Schedules view (each with its next
 * fire time; Delete confirmed). Both reload on (re)connect and on their own events; when the
 * backend is down they show the reason and Retry. Model actions: Launch, Copy Image Reference,
 * Compare with Workspace (versions).
 */
import * as vscode from 'vscode';
import type { Model, Version } from '@trainyard/shared/schemas/models';
import type { Schedule } from '@trainyard/shared/schemas/schedules';
import { Commands } from '../commands';
import type { Deps } from '../deps';
import { describeFailure } from '../connection/connection';
import { messageItem, stateMessage, type MessageNode } from './state-node';

type ModelNode =
  | { kind: 'model'; model: Model }
  | { kind: 'version'; version: Version; latest: boolean }
  | { kind: 'entrypoint'; version: Version; name: string; command: string }
  | MessageNode;

const failNode = (what: string, err: unknown): MessageNode => ({ kind: 'message', key: 'err', text: `Could not load ${what} — Retry`, detail: describeFailure(err), icon: 'warning', command: { command: Commands.reconnect, title: 'Retry' } });

export class ModelsProvider implements vscode.TreeDataProvider<ModelNode> {
  private readonly emitter = new vscode.EventEmitter<ModelNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  constructor(private readonly deps: Deps) {}
  refresh(): void { this.emitter.fire(undefined); }

  async getChildren(node?: ModelNode): Promise<ModelNode[]> {
    const msg = stateMessage(this.deps.conn.state, 'models');
    if (msg) return node ? [] : [msg];
    const client = this.deps.conn.client;
    try {
      if (!node) {
        const { items } = await client.listModels();
        if (!items.length) return [{ kind: 'message', key: 'empty', text: 'No models yet — Save Model', icon: 'info', command: { command: Commands.saveModel, title: 'Save Model' } }];
        return items.map((model) => ({ kind: 'model', model }));
      }
      if (node.kind === 'model') {
        const { items } = await client.listVersions(node.model.name);
        return [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((version) => ({ kind: 'version', version, latest: version.label === node.model.latestVersion }));
      }
      if (node.kind === 'version') return Object.entries(node.version.entrypoints).map(([name, command]) => ({ kind: 'entrypoint', version: node.version, name, command }));
      return [];
    } catch (err) {
      return [failNode(node ? 'versions' : 'models', err)];
    }
  }

  getTreeItem(node: ModelNode): vscode.TreeItem {
    switch (node.kind) {
      case 'message': return messageItem(node);
      case 'model': {
        const m = node.model;
        const item = new vscode.TreeItem(m.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `model:${m.name}`;
        // no run count here: refreshing the tree on every new run would close an open context menu
        item.description = `${m.versionCount} version${m.versionCount === 1 ? '' : 's'}`;
        item.tooltip = `${m.name}${m.description ? ` — ${m.description}` : ''}\n${m.runCount} runs when this list was loaded`;
        item.iconPath = new vscode.ThemeIcon('package');
        item.contextValue = 'model';
        return item;
      }
      case 'version': {
        const v = node.version;
        const item = new vscode.TreeItem(v.label, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `version:${v.model}:${v.label}`;
        item.description = `${v.git.dirty ? '● ' : ''}${v.digest.slice(7, 19)}${node.latest ? ' · latest' : ''} · ${new Date(v.createdAt).toLocaleString()}`;
        item.tooltip = `${v.model}:${v.label}\n${v.imageRef}\n${v.digest}\nbase ${v.baseImage ?? '(none)'} · ${v.fileCount} files${v.git.dirty ? '\nsaved with uncommitted changes' : ''}`;
        item.iconPath = new vscode.ThemeIcon('tag');
        item.contextValue = 'version';
        return item;
      }
      case 'entrypoint': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
        item.id = `entry:${node.version.model}:${node.version.label}:${node.name}`;
        item.description = node.command;
        item.iconPath = new vscode.ThemeIcon('play');
        item.contextValue = 'entrypoint';
        return item;
      }
    }
  }
}

type ScheduleNode = { kind: 'schedule'; schedule: Schedule } | MessageNode;

export class SchedulesProvider implements vscode.TreeDataProvider<ScheduleNode> {
  private readonly emitter = new vscode.EventEmitter<ScheduleNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  constructor(private readonly deps: Deps) {}
  refresh(): void { this.emitter.fire(undefined); }
  async getChildren(node?: ScheduleNode): Promise<ScheduleNode[]> {
    if (node) return [];
    const msg = stateMessage(this.deps.conn.state, 'schedules');
    if (msg) return [msg];
    try {
      const { items } = await this.deps.conn.client.listSchedules();
      if (!items.length) return [{ kind: 'message', key: 'empty', text: 'No schedules', icon: 'info' }];
      return items.map((schedule) => ({ kind: 'schedule', schedule }));
    } catch (err) {
      return [failNode('schedules', err)];
    }
  }
  getTreeItem(node: ScheduleNode): vscode.TreeItem {
    if (node.kind === 'message') return messageItem(node);
    const s = node.schedule;
    const item = new vscode.TreeItem(`${s.model} · ${s.cron}`);
    item.id = `schedule:${s.id}`;
    item.description = s.nextFireAt ? `next ${new Date(s.nextFireAt).toLocaleString()}` : s.enabled ? 'no next fire time' : 'disabled';
    item.tooltip = `${s.id}\n${s.cron} (${s.timezone})${s.lastFireAt ? `\nlast fired ${new Date(s.lastFireAt).toLocaleString()}` : ''}`;
    item.iconPath = new vscode.ThemeIcon('calendar');
    item.contextValue = 'schedule';
    return item;
  }
}

export function register(context: vscode.ExtensionContext, deps: Deps): { models: ModelsProvider; schedules: SchedulesProvider } {
  const models = new ModelsProvider(deps);
  const schedules = new SchedulesProvider(deps);
  const modelsView = vscode.window.createTreeView('trainyard.models', { treeDataProvider: models });
  const schedulesView = vscode.window.createTreeView('trainyard.schedules', { treeDataProvider: schedules });
  context.subscriptions.push(
    modelsView, schedulesView,
    deps.conn.onDidChangeState(() => { models.refresh(); schedules.refresh(); }),
    deps.conn.onDidReconnect(() => { models.refresh(); schedules.refresh(); }),
    deps.conn.onEvents((batch) => {
      if (batch.some((e) => e.kind === 'version')) models.refresh();
      if (batch.some((e) => e.kind === 'schedule')) schedules.refresh();
    }),
    vscode.commands.registerCommand(Commands.copyImageRef, async (node?: { version?: Version }) => {
      if (!node?.version) return;
      await vscode.env.clipboard.writeText(`${node.version.imageRef}@${node.version.digest}`);
      void vscode.window.showInformationMessage(`Copied ${node.version.imageRef}@${node.version.digest.slice(0, 19)}…`);
    }),
    vscode.commands.registerCommand(Commands.deleteSchedule, async (node?: { schedule?: Schedule }) => {
      const s = node?.schedule;
      if (!s) return;
      const ok = await vscode.window.showWarningMessage(`Delete the schedule ${s.model} · ${s.cron}? It stops launching runs; runs it launched are kept.`, { modal: true }, 'Delete');
      if (ok !== 'Delete') return;
      try {
        await deps.conn.client.deleteSchedule(s.id);
        schedules.refresh();
      } catch (err) {
        void vscode.window.showErrorMessage(`Trainyard: could not delete the schedule: ${describeFailure(err)}`);
      }
    }),
  );
  return { models, schedules };
}
