/**
 * Settings, validated: `trainyard.url` must be an http(s) URL (a bad value is reported and the
 * default is used), `trainyard.cliPath` a path or empty. Pure helpers are exported for tests.
 */
import * as vscode from 'vscode';
import { checkUrl } from './url';

export { checkUrl, isLocalUrl } from './url';

export function readSettings(): { url: string; cliPath: string; notify: boolean; problem?: string } {
  const c = vscode.workspace.getConfiguration('trainyard');
  const { url, problem } = checkUrl(c.get('url'));
  const cli = c.get<string>('cliPath');
  return { url, cliPath: typeof cli === 'string' && cli.trim() ? cli.trim() : 'trainyard', notify: c.get<boolean>('notifyFinishedRuns') !== false, ...(problem ? { problem } : {}) };
}
