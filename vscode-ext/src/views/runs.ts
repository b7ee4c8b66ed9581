/**
 * The Runs view: a TreeDataProvider over RunsModel. Loads the first page on (re)connect, then
 * folds in the connection's event batches (one incremental refresh per batch: only the
 * changed elements, or the root when runs were added). Paging through "Load more"; a filter
 * (mine / this model / all). When the backend is down it shows the reason and Retry.
 */
import * as vscode from 'vscode';
import type { Run } from '@trainyard/shared/schemas/runs';
import { Commands } from '../commands';
import type { Deps } from '../deps';
import { describeFailure } from '../connection/connection';
import { RunsModel, runDescription, runLabel, sweepSummary, varyingKeys, type RunNode } from './runs-model';
import { bindStateMessage, messageItem, stateMessage, type MessageNode } from './state-node';

type Node = RunNode | MessageNode;
const PAGE = 200;

const STATUS_ICON: Record<Run['status'], [string, string | undefined]> = {
  Pending: ['clock', 'charts.yellow'],
  Running: ['sync~spin', 'charts.blue'],
  Succeeded: ['pass', 'testing.iconPassed'],
  Failed: ['error', 'testing.iconFailed'],
  Cancelled: ['circle-slash', 'disabledForeground'],
};
const icon = (s: Run['status']) => new vscode.ThemeIcon(STATUS_ICON[s][0], STATUS_ICON[s][1] ? new vscode.ThemeColor(STATUS_ICON[s][1]!) : undefined);

export class RunsProvider implements vscode.TreeDataProvider<Node> {
  readonly model = new RunsModel();
  private readonly emitter = new vscode.EventEmitter<Node | Node[] | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private loadError: string | null = null;
  private loading: Promise<void> | null = null;
  private loaded = false;

  constructor(private readonly deps: Deps) {}

  /** first page again (on connect, on filter change) */
  reload(): Promise<void> {
    if (!this.deps.conn.connected) { this.emitter.fire(undefined); return Promise.resolve(); }
    const p = (async () => {
      try {
        const page = await this.deps.conn.client.listRuns({ ...this.model.query(), limit: PAGE });
        this.model.clear();
        this.model.addPage(page.items, page.nextCursor);
        this.loadError = null;
        this.loaded = true;
      } catch (err) {
        this.loadError = describeFailure(err);
      }
      this.emitter.fire(undefined);
    })();
    this.loading = p;
    return p;
  }

  async loadMore(): Promise<void> {
    if (!this.model.nextCursor) return;
    try {
      const page = await this.deps.conn.client.listRuns({ ...this.model.query(), limit: PAGE, cursor: this.model.nextCursor });
      this.model.addPage(page.items, page.nextCursor);
    } catch (err) {
      void vscode.window.showWarningMessage(`Trainyard: could not load more runs: ${describeFailure(err)}`);
    }
    this.emitter.fire(undefined);
  }

  applyEvents(runs: Run[]): void {
    if (!this.loaded) return;
    const r = this.model.apply(runs);
    if (r.root) this.emitter.fire(undefined);
    else if (r.nodes.length) this.emitter.fire(r.nodes);
  }

  refreshView(): void { this.emitter.fire(undefined); }

  getChildren(node?: Node): Node[] {
    if (!node) {
      const msg = stateMessage(this.deps.conn.state, 'runs');
      if (msg) return [msg];
      if (this.loadError) return [{ kind: 'message', key: 'err', text: 'Could not load runs — Retry', detail: this.loadError, icon: 'warning', command: { command: Commands.reconnect, title: 'Retry' } }];
      if (!this.loaded) return [{ kind: 'message', key: 'loading', text: 'Loading runs…', icon: 'sync~spin' }];
      const roots = this.model.roots();
      if (!roots.length) return [{ kind: 'message', key: 'empty', text: this.model.scope.kind === 'all' ? 'No runs yet — Launch Training…' : 'No runs match the filter', icon: 'info', command: { command: Commands.launch, title: 'Launch' } }];
      return roots;
    }
    if (node.kind === 'sweep') return this.model.members(node.sweepId).map((r) => this.model.runNode(r.id));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.kind) {
      case 'message': return messageItem(node);
      case 'more': {
        const item = new vscode.TreeItem(`Load more… (${this.model.runs.size} loaded)`);
        item.id = 'more';
        item.command = { command: Commands.loadMoreRuns, title: 'Load more' };
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        return item;
      }
      case 'sweep': {
        const members = this.model.members(node.sweepId);
        const first = members[0];
        const item = new vscode.TreeItem(first ? `${first.model} sweep` : `sweep ${node.sweepId}`, vscode.TreeItemCollapsibleState.Expanded);
        item.id = node.key;
        item.description = sweepSummary(members);
        item.tooltip = `sweep ${node.sweepId}${first ? ` of ${first.model}:${first.version} (${first.entrypoint})` : ''}\n${sweepSummary(members)}`;
        const active = members.some((r) => r.status === 'Running' || r.status === 'Pending');
        item.iconPath = new vscode.ThemeIcon(active ? 'sync~spin' : 'layers');
        item.contextValue = 'sweep';
        item.command = { command: Commands.showSweep, title: 'Compare', arguments: [{ sweepId: node.sweepId }] };
        return item;
      }
      case 'run': {
        const r = this.model.runs.get(node.runId)!;
        const label = runLabel(r, r.sweepId ? varyingKeys(this.model.members(r.sweepId)) : undefined);
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
        item.id = node.key;
        item.description = runDescription(r);
        const md = new vscode.MarkdownString(`**${r.id}** — ${r.status}${r.reason ? `\n\n${r.reason}` : ''}\n\n${r.model}:${r.version} · ${r.entrypoint} · ${r.hardware}`);
        item.tooltip = md;
        item.iconPath = icon(r.status);
        item.accessibilityInformation = { label: `run ${r.id} ${label} ${runDescription(r)}${r.reason ? ` ${r.reason}` : ''}` };
        item.contextValue = r.status === 'Running' || r.status === 'Pending' ? 'run-active' : 'run';
        item.command = { command: Commands.showRun, title: 'Show Run Results', arguments: [{ runId: r.id }] };
        return item;
      }
    }
  }

  dispose(): void { this.emitter.dispose(); void this.loading; }
}

export function register(context: vscode.ExtensionContext, deps: Deps): RunsProvider {
  const provider = new RunsProvider(deps);
  const view = vscode.window.createTreeView('trainyard.runs', { treeDataProvider: provider, showCollapseAll: true });
  const updateTitle = () => {
    const s = provider.model.scope;
    view.description = s.kind === 'all' ? undefined : s.kind === 'model' ? `model ${s.model}` : 'mine';
  };
  context.subscriptions.push(
    view, provider, bindStateMessage(view, deps.conn),
    deps.conn.onDidChangeState(() => { if (!deps.conn.connected) provider.refreshView(); }),
    deps.conn.onDidReconnect(() => void provider.reload()),
    deps.conn.onEvents((batch) => provider.applyEvents(batch.flatMap((e) => (e.kind === 'run' ? [e.data] : [])))),
    vscode.commands.registerCommand(Commands.loadMoreRuns, () => provider.loadMore()),
    vscode.commands.registerCommand(Commands.filterRuns, async () => {
      const models = deps.conn.connected ? await deps.conn.client.listModels().then((m) => m.items.map((x) => x.name), () => [] as string[]) : [];
      // GET /v1/me names the person the token signs in as (a backend without it offers no "Mine")
      const user = deps.conn.connected ? await deps.conn.client.me().then((m) => m.user, () => undefined) : undefined;
      const picks: Array<vscode.QuickPickItem & { scope: RunsModel['scope'] }> = [
        { label: 'All runs', scope: { kind: 'all' } },
        ...(user ? [{ label: 'Mine', description: user, scope: { kind: 'mine' as const, user } }] : []),
        ...models.map((m) => ({ label: `Model ${m}`, scope: { kind: 'model' as const, model: m } })),
      ];
      const pick = await vscode.window.showQuickPick(picks, { title: 'Show runs of' });
      if (!pick) return;
      provider.model.scope = pick.scope;
      updateTitle();
      await provider.reload();
    }),
  );
  return provider;
}
