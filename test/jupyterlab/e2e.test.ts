/**
 * trainyard-jupyterlab end to end: real JupyterLab 4.6.6 (from the venv, the wheel installed),
 * served under a base_url, driven in Debian's Chromium (playwright-core), against a real
 * backend (the built CLI as a child process, local executor). A user opens the example
 * notebook and clicks Save Model (first-save dialog, version recorded); a .env is refused with
 * the file named and the action opens it; "Launch training…" opens the launch panel, a 3-run
 * sweep goes Succeeded live in the runs sidebar; Sweep Comparison and Run Results show logs and
 * charts; a stopped backend gives a clear message and the UI recovers when it is back; a failed
 * notebook run's traceback frame opens the notebook at the cell it came from; Run Results lists a
 * run's artifacts, saves one into the Jupyter folder and downloads another through the proxy.
 * Screenshots in light and dark go to test-artifacts/jupyterlab/.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { TrainyardClient } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { writeWorkspaceModel } from '@trainyard/shared/workspace/model-file';
import { CLI, freePort, REPO, spawnBackend, waitForRuns } from '../helpers/backend';
import { labVenv, startLab, type Lab } from './lab';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO, 'test-artifacts/jupyterlab');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const BASE_URL = '/user/ty-tester/';

describe('JupyterLab extension end to end (Chromium)', function () {
  this.timeout(240000);
  let home: string;
  let root: string;
  let port: number;
  let backend: ChildProcess;
  let client: TrainyardClient;
  let lab: Lab;
  let browser: Browser;
  let page: Page;
  const timings: string[] = [];
  const workspaceLog: string[] = [];

  const startBackend = async () => {
    const b = await spawnBackend(home, port, { executor: { local: { maxConcurrent: 3 } } });
    backend = b.child;
    client = new TrainyardClient({ baseUrl: b.url, token: readFileSync(join(home, 'token'), 'utf8').trim() });
  };
  const stopBackend = async () => {
    if (backend.exitCode !== null) return;
    const exited = new Promise((r) => backend.once('exit', r));
    backend.kill('SIGKILL');
    await exited;
  };
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  const toast = (re: RegExp) => page.locator('.Toastify__toast', { hasText: re });
  /** Opens a notebook by URL and waits until it is the current tab. The notebook the layout restores
   * shows first, and under load the tree URL opens its own late: a late open takes the tab from a
   * panel the test has opened since. */
  const openNotebook = async (path: string) => {
    await page.goto(`${lab.url}lab/tree/${path}?token=${lab.token}`);
    const name = path.split('/').pop()!;
    await page.locator('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current', { hasText: name }).waitFor({ timeout: 60000 });
    await page.waitForSelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .cm-content');
  };
  /**
   * Waits until the main-area panel `panel` (its last match) shows `inner`, clicking its tab back
   * when something took it: a notebook the tree URL already showed can still be activated again by
   * that URL's late open (seen in CI, after the test had opened a Sweep panel).
   */
  const inFront = async (panel: string, inner: string) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const id = await page.locator(panel).last().getAttribute('id', { timeout: 1000 }).catch(() => null);
      if (id) {
        const tab = page.locator(`#jp-main-dock-panel .lm-TabBar-tab[data-id="${id}"]`);
        if ((await tab.count()) && !/\blm-mod-current\b/.test((await tab.getAttribute('class')) ?? '')) await tab.click();
        if (await page.locator(`#${id}:not(.lm-mod-hidden) ${inner}`).count()) return;
      }
      if (Date.now() > deadline) throw new Error(`${panel} never showed ${inner} in front`);
      await page.waitForTimeout(250);
    }
  };

  /** clicks the runs sidebar's tab while the sidebar is hidden */
  const showRunsSidebar = async () => {
    if (!(await page.locator('#trainyard-runs').isVisible())) await page.locator('.jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id="trainyard-runs"]').click();
  };
  /**
   * Shows the runs sidebar (clicking its tab while it is hidden) and waits until it follows the
   * notebook in use: "only <model>". On a timeout it says what the page showed instead.
   */
  const sidebarFollows = async (model: string) => {
    const deadline = Date.now() + 60_000;
    const label = page.locator('#trainyard-runs .ty-jp-sidebar-head + label');
    for (;;) {
      await showRunsSidebar();
      if ((await label.count()) && (await label.innerText()).trim() === `only ${model}` && (await label.isVisible())) return;
      if (Date.now() > deadline) break;
      await page.waitForTimeout(250);
    }
    // (no named functions in here: the test's transpiler would wrap them in a helper the page lacks)
    const seen = await page.evaluate(() => {
      const focused = document.activeElement?.closest('.jp-NotebookPanel')?.id;
      return {
        label: document.querySelector('#trainyard-runs .ty-jp-sidebar-head + label')?.textContent ?? '(none)',
        sidebarVisible: !!document.querySelector('#trainyard-runs:not(.lm-mod-hidden)'),
        currentTab: document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')?.textContent ?? null,
        focusedNotebook: focused ? document.querySelector(`.lm-TabBar-tab[data-id="${focused}"]`)?.textContent ?? focused : null,
        tabs: [...document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tab')].map((t) => t.textContent),
      };
    });
    throw new Error(`the runs sidebar never showed "only ${model}" in 60 s: ${JSON.stringify(seen)}\nthe page's last workspace questions:\n${workspaceLog.slice(-12).join('\n') || '(none)'}`);
  };

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    home = mkdtempSync(join(tmpdir(), 'ty-home-'));
    root = mkdtempSync(join(tmpdir(), 'ty-jroot-'));
    cpSync(join(REPO, 'examples/eta-correction'), join(root, 'eta-correction'), { recursive: true, filter: (s) => !/\.trainyard|__pycache__/.test(s) });
    port = await freePort();
    await startBackend();
    const t0 = Date.now();
    lab = await startLab({ root, baseUrl: BASE_URL, env: { TRAINYARD_URL: `http://127.0.0.1:${port}`, TRAINYARD_HOME: home } });
    timings.push(`jupyter-lab ready: ${Date.now() - t0} ms`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    page = await ctx.newPage();
    page.setDefaultTimeout(60000); // the machine is shared with other builds
    page.on('pageerror', (e) => console.error('page error:', e.message));
    // the runs sidebar's questions about the notebook in use, for sidebarFollows' report
    const isWorkspace = (r: Request) => r.url().includes('/trainyard/workspace?');
    const at = () => new Date().toISOString().slice(11, 23);
    page.on('request', (r) => { if (isWorkspace(r)) workspaceLog.push(`${at()} asked ${new URL(r.url()).searchParams.get('notebook')}`); });
    page.on('requestfinished', async (r) => { if (isWorkspace(r)) workspaceLog.push(`${at()} answered ${new URL(r.url()).searchParams.get('notebook')}: ${(await r.response())?.status()}`); });
    page.on('requestfailed', (r) => { if (isWorkspace(r)) workspaceLog.push(`${at()} failed ${new URL(r.url()).searchParams.get('notebook')}: ${r.failure()?.errorText}`); });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await shot(`failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    await lab?.stop();
    if (backend && backend.exitCode === null) backend.kill('SIGKILL');
    if (timings.length) console.log(`\n  jupyterlab e2e timings (measured):\n${timings.map((l) => `    ${l}`).join('\n')}`);
    if (home) rmSync(home, { recursive: true, force: true });
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('saves the example notebook from its Save Model button (first-save dialog), under a base_url', async () => {
    const t0 = Date.now();
    await page.goto(`${lab.url}lab/tree/eta-correction/notebook.ipynb?token=${lab.token}`);
    await page.waitForSelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .cm-content'); // a markdown cell's editor is hidden once rendered
    await page.waitForSelector('#jp-main-statusbar >> text=Idle', { timeout: 60000 });
    const button = page.locator('.jp-NotebookPanel-toolbar [data-jp-item-name="trainyard-save-model"]');
    await button.waitFor();
    timings.push(`page to Save Model button: ${Date.now() - t0} ms`);
    assert.match(await button.innerText(), /Save Model/);
    assert.ok(new URL(page.url()).pathname.startsWith(`${BASE_URL}lab`), page.url());
    await page.waitForSelector('[data-state=live]', { timeout: 30000 });

    // an edited notebook is saved first, after asking
    await page.locator('.jp-CodeCell .cm-content').first().click();
    await page.keyboard.press('End');
    await page.keyboard.type('  # edited');
    await page.waitForSelector('.lm-TabBar-tab.lm-mod-current.jp-mod-dirty');
    await button.click();
    await page.getByRole('button', { name: 'Save and continue' }).click();
    const dialog = page.locator('[data-testid=ty-save-dialog]');
    await dialog.waitFor();
    assert.match(readFileSync(join(root, 'eta-correction/notebook.ipynb'), 'utf8'), /# edited/);
    await page.waitForSelector('[data-testid=ty-save-preview] >> text=train.py');
    assert.match(await page.locator('[data-testid=ty-save-preview]').innerText(), /kernel interpreter: \/.*python/);
    await shot('save-dialog-light');
    await page.fill('#ty-save-model', 'Bad Name');
    await page.getByRole('button', { name: 'Save version' }).click();
    await page.waitForSelector('.ty-save-error >> text=not a model name');
    await page.fill('#ty-save-model', 'eta-correction');
    const t1 = Date.now();
    await page.getByRole('button', { name: 'Save version' }).click();
    const done = toast(/Saved eta-correction:/);
    await done.waitFor({ timeout: 120000 });
    timings.push(`Save Model click to version recorded (first save): ${Date.now() - t1} ms`);
    const versions = await client.listVersions('eta-correction');
    assert.equal(versions.items.length, 1);
    assert.match(await done.innerText(), new RegExp(versions.items[0].label.replace(/[+.]/g, '\\$&')));
    const remembered = JSON.parse(readFileSync(join(root, 'eta-correction/.trainyard/model.json'), 'utf8'));
    assert.equal(remembered.model, 'eta-correction');
    await shot('saved-light');
  });

  it('refuses a .env with the file named; the action opens it', async () => {
    writeFileSync(join(root, 'eta-correction/.env'), 'DB_PASSWORD=hunter2\n');
    await page.locator('.jp-NotebookPanel-toolbar [data-jp-item-name="trainyard-save-model"]').click();
    const refused = toast(/refused: \.env/);
    await refused.waitFor({ timeout: 60000 });
    assert.match(await refused.innerText(), /looks like a secret; nothing was sent/);
    await shot('refused-light');
    await refused.getByRole('button', { name: 'Open .env' }).click();
    await page.waitForSelector('.lm-TabBar-tab.lm-mod-current >> text=.env');
    await shot('env-opened-light');
    await page.waitForSelector('.jp-FileEditor .cm-content >> text=DB_PASSWORD');
    assert.equal((await client.listVersions('eta-correction')).items.length, 1);
    rmSync(join(root, 'eta-correction/.env'));
  });

  it('re-saves with one click (remembered answers), timed against `trainyard save` on the same workspace', async () => {
    await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: 'notebook.ipynb' }).click();
    const saved = page.locator('.Toastify__toast', { hasText: /Saved eta-correction:/ });
    const before = await saved.count();
    const t0 = Date.now();
    await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) [data-jp-item-name="trainyard-save-model"]').click();
    await page.waitForFunction((n) => [...document.querySelectorAll('.Toastify__toast')].filter((t) => /Saved eta-correction:/.test(t.textContent ?? '')).length > n, before);
    const ui = Date.now() - t0;
    assert.equal(await page.locator('[data-testid=ty-save-dialog]').count(), 0, 'a remembered save asks nothing');
    const t1 = Date.now();
    const out = execFileSync(process.execPath, [CLI, 'save', join(root, 'eta-correction'), '--json'], {
      env: { ...process.env, TRAINYARD_URL: `http://127.0.0.1:${port}`, TRAINYARD_TOKEN: readFileSync(join(home, 'token'), 'utf8').trim() }, encoding: 'utf8',
    });
    const cli = Date.now() - t1;
    assert.match(out, /eta-correction/);
    timings.push(`re-save: Save Model click to version ${ui} ms, trainyard save ${cli} ms, ratio ${(ui / cli).toFixed(2)} (budget 1.3)`);
  });

  it("saves from the file browser's context menu on the folder", async () => {
    const saved = page.locator('.Toastify__toast', { hasText: /Saved eta-correction:/ });
    const before = await saved.count();
    await page.locator('.jp-FileBrowser .jp-BreadCrumbs-home').click();
    const folder = page.locator('.jp-DirListing-item[data-isdir="true"]', { hasText: 'eta-correction' });
    await folder.click({ button: 'right' });
    await page.locator('.lm-Menu-item', { hasText: 'Save Model from this folder' }).click();
    await page.waitForFunction((n) => [...document.querySelectorAll('.Toastify__toast')].filter((t) => /Saved eta-correction:/.test(t.textContent ?? '')).length > n, before);
    assert.equal((await client.listVersions('eta-correction')).items.length >= 2, true);
    await folder.dblclick();
    await page.locator('.jp-FileBrowser .jp-BreadCrumbs', { hasText: 'eta-correction' }).waitFor();
  });

  it('forwards GET /v1/runs with little overhead and ships a small bundle (measured, printed)', async () => {
    const direct = `http://127.0.0.1:${port}/v1/runs?limit=50`;
    const viaLab = `${lab.url}trainyard/api/v1/runs?limit=50`;
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    const p50 = async (url: string, headers: Record<string, string>) => {
      const ms: number[] = [];
      for (let i = 0; i < 40; i++) {
        const t = performance.now();
        const res = await fetch(url, { headers });
        assert.equal(res.status, 200, url);
        assert.ok(Array.isArray(((await res.json()) as { items: unknown[] }).items));
        ms.push(performance.now() - t);
      }
      return ms.sort((a, b) => a - b)[20];
    };
    const d = await p50(direct, { Authorization: `Bearer ${token}` });
    const j = await p50(viaLab, { Authorization: `token ${lab.token}` });
    timings.push(`GET /v1/runs p50: direct ${d.toFixed(1)} ms, through Jupyter ${j.toFixed(1)} ms, overhead ${(j - d).toFixed(1)} ms (budget 5 ms)`);
    const staticDir = join(labVenv(), 'share/jupyter/labextensions/trainyard-jupyterlab/static');
    const js = readdirSync(staticDir).filter((f) => f.endsWith('.js'));
    assert.ok(js.length > 0);
    const gz = js.reduce((n, f) => n + gzipSync(readFileSync(join(staticDir, f))).length, 0);
    timings.push(`extension JS: ${(gz / 1024).toFixed(0)} KB gzipped in ${js.length} files (budget 300 KB)`);
  });

  let sweepId = '';

  it('"Launch training…" opens the launch panel; a 3-run sweep goes Succeeded live in the runs sidebar', async () => {
    await toast(/Saved eta-correction:/).last().getByRole('button', { name: 'Launch training…' }).click();
    const panel = page.locator('.ty-jp-launch');
    await panel.waitFor();
    await panel.locator('#ty-launch-version').waitFor();
    await page.waitForFunction(() => /latest/.test(document.querySelector('.ty-jp-launch #ty-launch-version')?.textContent ?? ''));
    await panel.getByRole('button', { name: '+ param' }).click();
    await panel.getByLabel('Params 1 name').fill('n');
    await panel.getByLabel('Params 1 type').selectOption('number');
    await panel.getByLabel('Params 1 value').fill('1500');
    await panel.getByRole('button', { name: '+ param' }).click();
    await panel.getByLabel('Params 2 name').fill('epochs');
    await panel.getByLabel('Params 2 type').selectOption('number');
    await panel.getByLabel('Params 2 value').fill('12');
    await panel.getByRole('button', { name: '+ sweep axis' }).click();
    await panel.getByLabel('Sweep axes 1 name').fill('region');
    await panel.getByLabel('Sweep axes 1 value').fill('sfo, nyc, sea');
    await page.waitForFunction(() => /3 runs/.test(document.querySelector('.ty-jp-launch [data-testid=grid-size]')?.textContent ?? ''));
    await page.waitForFunction(() => /\$|estimated|no price/.test(document.querySelector('.ty-jp-launch [data-testid=estimate]')?.textContent ?? ''));
    await shot('launch-light');

    // the runs sidebar, opened before the launch, must show the sweep arrive and finish without a reload
    await showRunsSidebar();
    const sidebar = page.locator('#trainyard-runs');
    await sidebar.waitFor();
    const t0 = Date.now();
    await panel.getByRole('button', { name: 'Launch 3 runs' }).click();
    const link = panel.locator('[data-testid=launch-result] a[href^="#trainyard:sweep:"]');
    await link.waitFor();
    sweepId = decodeURIComponent((await link.getAttribute('href'))!.replace('#trainyard:sweep:', ''));
    await sidebar.locator(`[data-sweep="${sweepId}"]`).waitFor();
    await page.waitForFunction((id) => /3 Succeeded/.test(document.querySelector(`#trainyard-runs [data-sweep="${id}"]`)?.textContent ?? ''), sweepId, { timeout: 120000 });
    timings.push(`sweep of 3 launched to all Succeeded in the sidebar: ${Date.now() - t0} ms`);
    const runs = await client.listRuns({ sweep: sweepId });
    assert.deepEqual(runs.items.map((r) => r.status), ['Succeeded', 'Succeeded', 'Succeeded']);
    await page.waitForSelector('#trainyard-status >> text=0 running, 0 pending');
    // at the sidebar's default width each select of the run list is as wide as its longest option (none clips its text)
    const clipped = await page.evaluate(() => [...document.querySelectorAll<HTMLSelectElement>('#trainyard-runs .ty-runlist > .ty-row > select')].flatMap((s) => {
      const probe = s.cloneNode(true) as HTMLSelectElement; // out of the flex layout: the width the select asks for
      probe.style.cssText = 'position: absolute; visibility: hidden; flex: none; width: auto; min-width: 0; max-width: none';
      s.parentElement!.append(probe);
      const need = probe.getBoundingClientRect().width;
      probe.remove();
      const has = s.getBoundingClientRect().width;
      return [`${s.getAttribute('aria-label')}: ${has.toFixed(0)} of ${need.toFixed(0)} px`].filter(() => has + 0.5 < need);
    }));
    assert.deepEqual(clipped, [], 'clipped selects in the runs sidebar');
    await shot('sidebar-light');
  });

  it('opens Sweep Comparison from the sidebar and Run Results with logs and a chart', async () => {
    await page.locator(`#trainyard-runs [data-sweep="${sweepId}"] a`).click();
    const sweep = page.locator(`#trainyard-sweep-${sweepId}`);
    await sweep.waitFor();
    await page.waitForFunction((id) => document.querySelectorAll(`#trainyard-sweep-${id} [aria-label="Sweep runs"] .ty-status-Succeeded`).length === 3, sweepId);
    await page.waitForFunction((id) => document.querySelectorAll(`#trainyard-sweep-${id} .ty-chart canvas`).length >= 2, sweepId);
    await shot('sweep-light');
    await sweep.locator('[aria-label="Sweep runs"] tbody tr:first-child a').first().click();
    const details = page.locator('.ty-jp-run [data-testid=run-details][data-status=Succeeded]');
    await details.waitFor();
    await page.waitForFunction(() => /complete/.test(document.querySelector('.ty-jp-run [data-testid=log-count]')?.textContent ?? ''));
    await page.waitForFunction(() => document.querySelectorAll('.ty-jp-run .ty-chart canvas').length >= 1);
    assert.match(await page.locator('.ty-jp-run [data-testid=log-viewer]').innerText(), /rmse/);
    await shot('run-light');
  });

  it('says clearly when the backend stops, and recovers when it is back', async () => {
    await stopBackend();
    await page.waitForSelector('#trainyard-status [data-state=down]', { timeout: 60000 });
    assert.match(await page.locator('#trainyard-status').innerText(), /backend unreachable/);
    await page.evaluate(() => document.querySelector<HTMLElement>('.jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id="trainyard-runs"]'));
    await page.locator('#trainyard-runs >> text=reconnecting').waitFor();
    // a view opened now explains, in words, what is wrong
    await page.locator('#trainyard-runs button', { hasText: 'Launch…' }).click();
    const err = page.locator('.ty-jp-launch:visible [data-error-kind=down]');
    await err.waitFor();
    assert.match(await err.innerText(), /The Trainyard backend is not reachable/);
    await shot('backend-down-light');
    await startBackend();
    await page.waitForSelector('#trainyard-status [data-state=live]', { timeout: 60000 });
    await err.getByRole('button', { name: 'Try again' }).click();
    await page.locator('.ty-jp-launch:visible #ty-launch-version').waitFor();
    await page.locator('#trainyard-runs >> text=● live').waitFor();
  });

  it("jumps from a failed run's traceback to the notebook cell it came from", async () => {
    const dir = join(root, 'failing');
    mkdirSync(dir, { recursive: true });
    const cell = (t: string, src: string) => ({ cell_type: t, metadata: {}, source: src, ...(t === 'code' ? { outputs: [], execution_count: null } : {}) });
    writeFileSync(join(dir, 'fail.ipynb'), JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } }, cells: [
      cell('markdown', '# A notebook that fails'), cell('code', 'x = 1\nprint("starting")'), cell('code', 'def boom():\n    raise ValueError("boom in cell 3")\n\nboom()'),
    ] }));
    // saved with the shared save client (the same code the Save Model button runs) and its answers remembered
    await saveWorkspace(client, { dir, model: 'failing-nb', entrypoints: { train: 'fail.ipynb' }, cacheDir: false });
    await writeWorkspaceModel(dir, { model: 'failing-nb', entrypoints: { train: 'fail.ipynb' } });
    const launched = await client.launch({ model: 'failing-nb' });
    const [failed] = await waitForRuns(client, launched.runs.map((r) => r.id));
    assert.equal(failed.status, 'Failed');

    await openNotebook('failing/fail.ipynb');
    await sidebarFollows('failing-nb');
    await page.locator(`#trainyard-runs [data-run-id="${failed.id}"]`).click();
    const frame = page.locator(`#trainyard-run-${failed.id} .ty-source-link[title*=".trainyard/notebooks/train.py"]`).last();
    await frame.waitFor();
    await shot('traceback-light');
    await frame.click();
    await toast(/fail\.ipynb, cell 3, line 2/).waitFor();
    await page.waitForSelector('.lm-TabBar-tab.lm-mod-current >> text=fail.ipynb');
    const active = await page.evaluate(() => {
      const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find((p) => !p.classList.contains('lm-mod-hidden'));
      const cells = [...(panel?.querySelectorAll('.jp-Notebook .jp-Cell') ?? [])];
      return cells.findIndex((c) => c.classList.contains('jp-mod-active'));
    });
    assert.equal(active, 2);
  });

  it('reads well in the dark theme (screenshots)', async () => {
    lab.setTheme('JupyterLab Dark');
    await openNotebook('eta-correction/notebook.ipynb');
    await page.waitForSelector('#jp-main-statusbar >> text=Idle', { timeout: 60000 });
    await page.waitForFunction(() => document.body.dataset.jpThemeLight === 'false');
    await shot('notebook-dark');
    await sidebarFollows('eta-correction');
    await page.waitForFunction((id) => /3 Succeeded/.test(document.querySelector(`#trainyard-runs [data-sweep="${id}"]`)?.textContent ?? ''), sweepId);
    await shot('sidebar-dark');
    await page.locator(`#trainyard-runs [data-sweep="${sweepId}"] a`).click();
    await inFront(`#trainyard-sweep-${sweepId}`, '.ty-chart canvas');
    await page.waitForFunction((id) => document.querySelectorAll(`#trainyard-sweep-${id}:not(.lm-mod-hidden) .ty-chart canvas`).length >= 2, sweepId);
    await shot('sweep-dark');
    await page.locator(`#trainyard-sweep-${sweepId} [aria-label="Sweep runs"] tbody tr:first-child a`).first().click();
    await inFront('.ty-jp-run', '.ty-chart canvas');
    await shot('run-dark');
    await page.locator('#trainyard-runs button', { hasText: 'Launch…' }).click();
    await inFront('.ty-jp-launch', '#ty-launch-version');
    await page.locator('.ty-jp-launch:visible #ty-launch-version').waitFor();
    await page.locator('.ty-jp-launch:visible >> text=Fits now').first().waitFor();
    await shot('launch-dark');
    await page.locator('.jp-NotebookPanel-toolbar [data-jp-item-name="trainyard-save-model"]').first().waitFor({ state: 'attached' });
  });

  it('lists the artifacts of a run that wrote outputs in Run Results; saves one into the folder and downloads another', async () => {
    const dir = join(root, 'outputs');
    cpSync(join(REPO, 'test/fixtures/outputs'), dir, { recursive: true });
    await saveWorkspace(client, { dir, model: 'outputs', version: 'v1', cacheDir: false });
    const launched = await client.launch({ model: 'outputs', params: { files: 2, same: true, big_mb: 3 } });
    const [r] = await waitForRuns(client, launched.runs.map((x) => x.id));
    assert.equal(r.status, 'Succeeded', r.reason ?? '');
    const list = await client.listArtifacts(r.id);
    // a notebook in that folder: "Save to folder" puts the files next to the notebook in use
    const cell = { id: 'c1', cell_type: 'code', metadata: {}, source: 'import os', outputs: [], execution_count: null };
    writeFileSync(join(dir, 'look.ipynb'), JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } }, cells: [cell] }));
    for (const theme of ['light', 'dark'] as const) {
      lab.setTheme(theme === 'light' ? 'JupyterLab Light' : 'JupyterLab Dark');
      await openNotebook('outputs/look.ipynb');
      await page.waitForSelector('#jp-main-statusbar >> text=Idle', { timeout: 60000 });
      await page.waitForFunction((light) => document.body.dataset.jpThemeLight === String(light), theme === 'light');
      await showRunsSidebar();
      const only = page.locator('#trainyard-runs label:has-text("only") input');
      if (await only.count() && await only.isChecked()) await only.uncheck(); // a restored notebook of another model filters the list
      await page.locator(`#trainyard-runs [data-run-id="${r.id}"]`).click();
      await inFront(`#trainyard-run-${r.id}`, '[data-testid=run-artifacts]');
      const details = page.locator(`#trainyard-run-${r.id}`);
      await details.locator('[data-testid=run-artifacts][data-state=stored] [data-artifact="same.txt"]').waitFor();
      const rows = await details.locator('[aria-label="Artifact files"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-artifact') ?? `${tr.getAttribute('data-artifact-dir')}/`));
      assert.deepEqual(rows, ['big.bin', 'parts/', 'parts/part-0000.txt', 'parts/part-0001.txt', 'same.txt']);
      assert.match(await details.getByTestId('artifacts-total').innerText(), /^4 files, 3\.0 MiB in all/);
      if (theme === 'light') {
        // 3 MiB: uploaded into the contents in chunks of 1 MiB, whole and unchanged at the end
        await details.getByRole('button', { name: 'Save to folder big.bin' }).click();
        await details.locator('[data-artifact="big.bin"] [data-testid=artifact-saved]').waitFor();
        const big = readFileSync(join(root, `outputs/trainyard-artifacts/${r.id}/big.bin`));
        assert.equal(big.length, 3 << 20);
        assert.equal(createHash('sha256').update(big).digest('hex'), list.files.find((f) => f.path === 'big.bin')!.sha256);
        await details.getByRole('button', { name: 'Save to folder parts/part-0000.txt' }).click();
        await details.locator('[data-artifact="parts/part-0000.txt"] [data-testid=artifact-saved]').waitFor();
        const target = `outputs/trainyard-artifacts/${r.id}/parts/part-0000.txt`;
        assert.equal(await details.locator('[data-artifact="parts/part-0000.txt"] [data-testid=artifact-saved]').innerText(), `✓ saved to ${target}`);
        assert.equal(readFileSync(join(root, target), 'utf8'), `part 0 of run ${r.id}\n`);
        const download = page.waitForEvent('download');
        await details.getByRole('button', { name: 'Download same.txt' }).click();
        const got = readFileSync((await (await download).path())!);
        assert.equal(createHash('sha256').update(got).digest('hex'), list.files.find((f) => f.path === 'same.txt')!.sha256);
        await details.locator('[data-artifact="same.txt"] [data-testid=artifact-saved]').waitFor();
      }
      await details.locator('[data-testid=run-artifacts]').scrollIntoViewIfNeeded();
      await page.waitForTimeout(300);
      await shot(`artifacts-${theme}`);
    }
  });
});
