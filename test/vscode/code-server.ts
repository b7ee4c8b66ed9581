/**
 * Real VS Code for the end-to-end tests: code-server from npm (scripts/setup-code-server.sh,
 * pinned and cached outside the repo), the freshly built .vsix installed into an isolated
 * profile (HOME and XDG_* per run, so nothing touches the user's own), started on a free
 * loopback port against a real backend, and driven with playwright-core + Debian's Chromium.
 * Small helpers for what the workbench looks like in 1.139: the palette, quick inputs,
 * notifications, the Trainyard views, and a webview's content two iframes deep.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { REPO, freePort, sleep } from '../helpers/backend';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(REPO, 'test-artifacts/vscode');
export type Theme = 'Default Dark Modern' | 'Default Light Modern' | 'Default High Contrast';

/** builds the .vsix with the root script (what a user runs) and returns its path */
export function buildVsix(): string {
  execFileSync('npm', ['run', '--silent', 'package:vscode'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  const version = JSON.parse(readFileSync(join(REPO, 'vscode-ext/package.json'), 'utf8')).version as string;
  return join(REPO, `vscode-ext/trainyard-${version}.vsix`);
}

export function codeServerBin(): string {
  return execFileSync('bash', [join(REPO, 'scripts/setup-code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
}

export interface CodeServer {
  url: string;
  root: string;
  page: Page;
  browser: Browser;
  log(): string;
  setSettings(patch: Record<string, unknown>): void;
  stop(): Promise<void>;
}

export async function startCodeServer(opts: { vsix: string; extra?: string[]; workspace: string; settings: Record<string, unknown>; env?: Record<string, string> }): Promise<CodeServer> {
  const bin = codeServerBin();
  const root = mkdtempSync(join(tmpdir(), 'ty-code-'));
  const env = { ...process.env, HOME: root, XDG_CONFIG_HOME: join(root, 'config'), XDG_DATA_HOME: join(root, 'data'), XDG_CACHE_HOME: join(root, 'cache'), ...opts.env };
  delete (env as Record<string, string | undefined>).VSCODE_IPC_HOOK_CLI;
  const userDir = join(root, 'user-data/User');
  mkdirSync(userDir, { recursive: true });
  let settings: Record<string, unknown> = {
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.disableAIFeatures': true,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'window.commandCenter': false,
    'workbench.layoutControl.enabled': false,
    'remote.autoForwardPorts': false,
    ...opts.settings,
  };
  const writeSettings = () => writeFileSync(join(userDir, 'settings.json'), JSON.stringify(settings, null, 2));
  writeSettings();
  const common = ['--user-data-dir', join(root, 'user-data'), '--extensions-dir', join(root, 'extensions')];
  for (const vsix of [opts.vsix, ...(opts.extra ?? [])]) execFileSync(bin, [...common, '--install-extension', vsix, '--force'], { env, stdio: 'pipe', timeout: 60000 });
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(bin, [...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', opts.workspace], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // its own process group: stop() ends code-server and everything it started (extension hosts
  // outlive a plain SIGTERM to code-server, waiting for a reconnection)
  const group = (sig: NodeJS.Signals) => { try { process.kill(-child.pid!, sig); } catch { /* gone */ } };
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`code-server exited: ${output}`);
    try { if ((await fetch(`${url}/healthz`)).ok) break; } catch { /* not yet */ }
    if (i > 300) throw new Error(`code-server did not answer in 30 s: ${output}`);
    await sleep(100);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url }).catch(() => undefined);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('  [code-server page error]', e.message));
  await page.goto(`${url}/?folder=${encodeURIComponent(opts.workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  return {
    url, root, page, browser,
    log: () => output,
    setSettings(patch) { settings = { ...settings, ...patch }; writeSettings(); },
    async stop() {
      await browser.close().catch(() => undefined);
      const exited = child.exitCode === null ? new Promise((r) => child.once('exit', r)) : Promise.resolve();
      group('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      group('SIGKILL'); // whatever is left of the group
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** F1, the command's title, Enter */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await pickExact(page, title);
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** clicks the quick input row whose label is exactly `label` (not the first fuzzy match) */
export async function pickExact(page: Page, label: string): Promise<void> {
  await page.locator('.quick-input-list .monaco-list-row .label-name', { hasText: new RegExp(`^\\s*${esc(label)}\\s*$`) }).first().click();
}

/** the open quick input's title/prompt text */
export async function quickInput(page: Page, titleLike: RegExp): Promise<Locator> {
  const w = page.locator('.quick-input-widget');
  await w.filter({ hasText: titleLike }).waitFor({ timeout: 30000 });
  return w.locator('input');
}

export function notification(page: Page, text: RegExp | string): Locator {
  return page.locator('.notification-toast', { hasText: text });
}

/** opens the Trainyard container in the activity bar */
export async function openTrainyard(page: Page): Promise<void> {
  const item = page.locator('.activitybar .action-item a[aria-label^="Trainyard"], .activitybar .action-item[aria-label^="Trainyard"]').first();
  await item.waitFor({ timeout: 30000 });
  const expanded = await page.locator('.pane-header[aria-label^="Runs"]').count();
  if (!expanded) await item.click();
  await page.locator('.pane-header', { hasText: 'Runs' }).first().waitFor();
}

/** the rows of one of the Trainyard views (Runs, Models, Schedules) */
export function viewRows(page: Page, view: 'Runs' | 'Models' | 'Schedules'): Locator {
  return page.getByRole('tree', { name: view, exact: true }).locator('.monaco-list-row');
}

/** the content of the active webview panel (two iframes deep) */
export function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready[src*="extensionId=trainyard.trainyard"]:visible').frameLocator('iframe#active-frame');
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** right-click a tree row and pick a context-menu item (VS Code ignores a click that lands while the menu is still opening: retried until the menu closes) */
export async function contextMenu(page: Page, row: Locator, item: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await row.click({ button: 'right' });
    const entry = page.locator('.monaco-menu .action-label', { hasText: item });
    await entry.hover();
    await entry.click();
    try {
      await page.locator('.monaco-menu').waitFor({ state: 'detached', timeout: 3000 });
      return;
    } catch (err) {
      if (attempt >= 2) throw err;
      await page.keyboard.press('Escape');
    }
  }
}
