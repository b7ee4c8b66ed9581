/**
 * Real JupyterLab 4.6.6 for the end-to-end tests, from the venv scripts/setup-jupyterlab.sh
 * makes (the trainyard-jupyterlab wheel installed in it). Everything Jupyter writes is
 * isolated in a per-run directory: HOME, JUPYTER_* dirs, settings (news off, theme), TMPDIR.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REPO, sleep } from '../helpers/backend';

export interface Lab {
  url: string; // base URL including base_url, ending with '/'
  token: string;
  root: string;
  settingsDir: string;
  child: ChildProcess;
  output(): string;
  setTheme(theme: 'JupyterLab Light' | 'JupyterLab Dark'): void;
  stop(): Promise<void>;
}

export function labVenv(): string {
  return execFileSync('bash', [join(REPO, 'scripts/setup-jupyterlab.sh'), 'venv'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export async function startLab(opts: { root: string; baseUrl: string; env: Record<string, string> }): Promise<Lab> {
  const venv = labVenv();
  const dir = mkdtempSync(join(tmpdir(), 'ty-jlab-'));
  const d = (n: string) => { const p = join(dir, n); mkdirSync(p, { recursive: true }); return p; };
  const settingsDir = d('settings');
  const apputils = join(settingsDir, '@jupyterlab/apputils-extension');
  mkdirSync(apputils, { recursive: true });
  writeFileSync(join(apputils, 'notification.jupyterlab-settings'), JSON.stringify({ fetchNews: 'false', checkForUpdates: false }));
  const port = await freePort();
  const token = `t${Math.random().toString(36).slice(2)}`;
  const env = {
    ...process.env,
    HOME: d('home'), JUPYTER_DATA_DIR: d('data'), JUPYTER_CONFIG_DIR: d('config'), JUPYTER_RUNTIME_DIR: d('runtime'),
    JUPYTERLAB_SETTINGS_DIR: settingsDir, JUPYTERLAB_WORKSPACES_DIR: d('workspaces'), TMPDIR: d('tmp'), XDG_CACHE_HOME: d('cache'),
    IPYTHONDIR: d('ipython'), PATH: `${join(venv, 'bin')}:${process.env.PATH}`,
    ...opts.env,
  };
  const child = spawn(join(venv, 'bin/jupyter-lab'), [
    '--no-browser', '--allow-root', `--ServerApp.port=${port}`, '--ServerApp.ip=127.0.0.1', '--ServerApp.port_retries=0',
    `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${opts.root}`, `--ServerApp.base_url=${opts.baseUrl}`,
    '--FileContentsManager.delete_to_trash=False', '--ContentsManager.allow_hidden=True', '--LabApp.news_url=', '--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
  ], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const url = `http://127.0.0.1:${port}${opts.baseUrl}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jupyter-lab exited with ${child.exitCode}:\n${output.slice(-4000)}`);
    try {
      const res = await fetch(`${url}api/status`, { headers: { Authorization: `token ${token}` } });
      if (res.ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`jupyter-lab did not answer in 60 s:\n${output.slice(-4000)}`); }
    await sleep(200);
  }
  return {
    url, token, root: opts.root, settingsDir, child, output: () => output,
    setTheme(theme) { writeFileSync(join(apputils, 'themes.jupyterlab-settings'), JSON.stringify({ theme })); },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10000)]);
        if (child.exitCode === null) {
          child.kill('SIGKILL');
          await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000)]);
        }
      }
      rmSync(dir, { recursive: true, force: true }); // its home, settings and runtime folders
    },
  };
}
