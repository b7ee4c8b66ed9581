/**
 * Compare with Workspace: a version's files, read-only, through the `trainyard-version:` file
 * system (trainyard-version:/<model>/<version>/<path>, read with GET
 * /v1/models/:m/versions/:v/files[/*path]), shown against the workspace in the diff editor.
 */
import * as vscode from 'vscode';
import { Commands } from './commands';
import type { Deps } from './deps';
import { describeFailure } from './connection/connection';
import type { Version } from '@trainyard/shared/schemas/models';
import { folderForModel } from './workspace';

export const SCHEME = 'trainyard-version';

export function versionUri(model: string, version: string, path: string): vscode.Uri {
  return vscode.Uri.from({ scheme: SCHEME, path: `/${encodeURIComponent(model)}/${encodeURIComponent(version)}/${path}` });
}

function parse(uri: vscode.Uri): { model: string; version: string; path: string } {
  const [, model, version, ...rest] = uri.path.split('/');
  if (!model || !version) throw vscode.FileSystemError.FileNotFound(uri);
  return { model: decodeURIComponent(model), version: decodeURIComponent(version), path: rest.join('/') };
}

export class VersionFs implements vscode.FileSystemProvider {
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  private readonly lists = new Map<string, Promise<Array<{ path: string; size: number }>>>();
  constructor(private readonly deps: Deps) {}

  private list(model: string, version: string) {
    const key = `${model}\0${version}`;
    let p = this.lists.get(key);
    if (!p) {
      p = this.deps.conn.client.listVersionFiles(model, version).then((r) => r.items);
      p.catch(() => this.lists.delete(key));
      this.lists.set(key, p);
    }
    return p;
  }

  watch(): vscode.Disposable { return new vscode.Disposable(() => undefined); }
  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const { model, version, path } = parse(uri);
    const files = await this.list(model, version);
    const f = files.find((x) => x.path === path);
    if (f) return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: f.size, permissions: vscode.FilePermission.Readonly };
    if (!path || files.some((x) => x.path.startsWith(`${path}/`))) return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0, permissions: vscode.FilePermission.Readonly };
    throw vscode.FileSystemError.FileNotFound(uri);
  }
  async readDirectory(uri: vscode.Uri): Promise<Array<[string, vscode.FileType]>> {
    const { model, version, path } = parse(uri);
    const prefix = path ? `${path}/` : '';
    const seen = new Map<string, vscode.FileType>();
    for (const f of await this.list(model, version)) {
      if (!f.path.startsWith(prefix)) continue;
      const [head, ...more] = f.path.slice(prefix.length).split('/');
      seen.set(head, more.length ? vscode.FileType.Directory : vscode.FileType.File);
    }
    return [...seen];
  }
  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const { model, version, path } = parse(uri);
    try {
      return await this.deps.conn.client.readVersionFile(model, version, path);
    } catch (err) {
      if ((err as { status?: number }).status === 404) throw vscode.FileSystemError.FileNotFound(uri);
      throw vscode.FileSystemError.Unavailable(describeFailure(err));
    }
  }
  createDirectory(): void { throw vscode.FileSystemError.NoPermissions('a saved version is read-only'); }
  writeFile(): void { throw vscode.FileSystemError.NoPermissions('a saved version is read-only'); }
  delete(): void { throw vscode.FileSystemError.NoPermissions('a saved version is read-only'); }
  rename(): void { throw vscode.FileSystemError.NoPermissions('a saved version is read-only'); }
}

export function register(context: vscode.ExtensionContext, deps: Deps): void {
  const fs = new VersionFs(deps);
  context.subscriptions.push(
    vscode.workspace.registerFileSystemProvider(SCHEME, fs, { isCaseSensitive: true, isReadonly: true }),
    vscode.commands.registerCommand(Commands.compareWithWorkspace, async (node?: { version?: Version }) => {
      const v = node?.version;
      if (!v) { void vscode.window.showInformationMessage('Trainyard: pick a version in the Models view, then Compare with Workspace.'); return; }
      const folder = await folderForModel(v.model, true);
      if (!folder) return;
      let files: Array<{ path: string }>;
      try {
        files = (await deps.conn.client.listVersionFiles(v.model, v.label)).items;
      } catch (err) {
        void vscode.window.showErrorMessage(`Trainyard: could not list the files of ${v.model}:${v.label}: ${describeFailure(err)}`);
        return;
      }
      const items = await Promise.all(files.map(async (f) => {
        const local = vscode.Uri.joinPath(folder.uri, f.path);
        let state = 'only in the version';
        try {
          const [a, b] = await Promise.all([vscode.workspace.fs.readFile(local), fs.readFile(versionUri(v.model, v.label, f.path))]);
          state = Buffer.from(a).equals(Buffer.from(b)) ? 'same' : 'changed';
        } catch { /* missing locally */ }
        return { label: f.path, description: state, path: f.path, state };
      }));
      items.sort((a, b) => (a.state === 'same' ? 1 : 0) - (b.state === 'same' ? 1 : 0) || a.label.localeCompare(b.label));
      const pick = await vscode.window.showQuickPick(items, { title: `Compare ${v.model}:${v.label} with ${folder.name}`, placeHolder: `${items.filter((i) => i.state !== 'same').length} of ${items.length} files differ` });
      if (!pick) return;
      await vscode.commands.executeCommand('vscode.diff', versionUri(v.model, v.label, pick.path), vscode.Uri.joinPath(folder.uri, pick.path), `${pick.path} (${v.label}) ↔ workspace`);
    }),
  );
}
