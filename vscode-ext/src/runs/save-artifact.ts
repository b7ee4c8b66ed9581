/**
 * "Save as…" on a run's artifact file in a Run Results panel: the user picks where (a save
 * dialog opening in the workspace folder, the file's own name suggested), the extension host
 * downloads it with its token (the webview never has one) into `<target>.trainyard-part` with a
 * cancellable progress notification, checks size and sha256 against the listing, and only then
 * renames it into place; a failed or cancelled download leaves nothing behind.
 */
import * as vscode from 'vscode';
import type { ArtifactFile } from '@trainyard/shared/schemas/artifacts';
import { bytes } from '@trainyard/shared/ui/format';
import type { Deps } from '../deps';
import { writeVerified } from '@trainyard/shared/verified-write';

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** The host's answer to a panel's saveArtifact: where the file went, or a thrown reason. */
export async function saveArtifact(deps: Deps, runId: string, file: ArtifactFile): Promise<string> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const defaultUri = folder ? vscode.Uri.joinPath(folder, baseName(file.path)) : undefined;
  const picked = await vscode.window.showSaveDialog({ defaultUri, title: `Save ${file.path} of run ${runId}`, saveLabel: 'Save artifact' });
  if (!picked) throw Object.assign(new Error('no file was picked; nothing was saved'), { code: 'cancelled' });
  if (picked.scheme !== 'file') throw new Error(`cannot save to ${picked.toString()}: pick a file on this machine`);
  const target = picked.fsPath;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Downloading ${file.path}`, cancellable: true },
    async (progress, token) => {
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() => ac.abort());
      try {
        const res = await deps.conn.client.downloadArtifact(runId, file.path, { signal: ac.signal });
        let shown = 0;
        await writeVerified(res.body!, file, target, (n) => {
          const pct = file.size ? (100 * n) / file.size : 100;
          if (pct - shown >= 1 || n === file.size) {
            progress.report({ increment: pct - shown, message: `${bytes(n)} of ${bytes(file.size)}` });
            shown = pct;
          }
        }, ac.signal);
      } catch (err) {
        if (ac.signal.aborted) throw Object.assign(new Error('the download was cancelled; nothing was saved'), { code: 'cancelled' });
        throw err;
      } finally {
        sub.dispose();
      }
    },
  );
  deps.output.appendLine(`saved ${file.path} of ${runId} to ${target} (${file.size} bytes, sha256 ${file.sha256} verified)`);
  return `saved to ${vscode.workspace.asRelativePath(picked, false)}, sha256 verified`;
}
