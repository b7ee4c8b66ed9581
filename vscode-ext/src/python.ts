/**
 * The Python interpreter of a workspace folder: the Python extension's API
 * (@vscode/python-extension) when ms-python.python is installed, else the
 * `python.defaultInterpreterPath` setting, else `python3` on PATH. Says where it came from.
 */
import * as vscode from 'vscode';

export interface Interpreter { path: string; source: string }

export async function interpreterFor(folder: vscode.Uri): Promise<Interpreter> {
  if (vscode.extensions.getExtension('ms-python.python')) {
    try {
      const { PythonExtension } = await import('@vscode/python-extension');
      const api = await PythonExtension.api();
      const env = api.environments.getActiveEnvironmentPath(folder);
      const resolved = await api.environments.resolveEnvironment(env);
      const path = resolved?.executable.uri?.fsPath ?? env.path;
      if (path) return { path, source: 'the Python extension' };
    } catch {
      /* not active or an older API: fall back */
    }
  }
  const setting = vscode.workspace.getConfiguration('python', folder).get<string>('defaultInterpreterPath');
  if (setting && setting.trim() && setting.trim() !== 'python') return { path: setting.trim(), source: 'python.defaultInterpreterPath' };
  return { path: 'python3', source: 'python3 on PATH' };
}
