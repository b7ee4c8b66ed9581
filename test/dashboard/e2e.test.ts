/**
 * The dashboard end to end in Debian's Chromium (playwright-core) against a real
 * backend with demo-like data: sign in through the #token= link, launch a sweep
 * of eta-correction from the form, watch it go to Succeeded live, open a run and
 * see its logs and charts; follow a run's log live (lines, status and chart
 * points arriving without a reload); cancel with the inline confirmation;
 * list and delete schedules; list a run's artifacts and download one (bytes checked, no token in
 * any URL), then launch predict with that trained model and follow the input link; screenshots of each main screen in both themes go to
 * test-artifacts/dashboard/. Budgets are measured and printed, not asserted:
 * first render, long tasks with 10,000 runs and with 100,000 log lines
 * (synthetic data served by page.route), and the bundle's gzipped size.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import type { Run } from '@trainyard/shared';
import { COUNTER, REPO, startTestBackend, waitForRuns, removeHome, type TestBackend } from '../helpers/backend';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO, 'test-artifacts/dashboard');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** In the page: how many rows are inside the scroller's visible box (a windowing bug shows none). */
const VISIBLE_ROWS = `
  window.visibleRows = (scroller, row) => {
    const el = document.querySelector(scroller);
    if (!el) return 0;
    const box = el.getBoundingClientRect();
    return [...el.querySelectorAll(row)].filter((x) => { const r = x.getBoundingClientRect(); return r.top >= box.top && r.bottom <= box.bottom; }).length;
  };
`;
declare function visibleRows(scroller: string, row: string): number;

const LONGTASKS = `
  window.__longtasks = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration }); })
    .observe({ type: 'longtask', buffered: true });
`;

describe('dashboard end to end (Chromium)', function () {
  this.timeout(180000);
  let b: TestBackend;
  let browser: Browser;
  const report: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)`);
    execFileSync(process.execPath, [join(REPO, 'backend/build.mjs')], { stdio: 'inherit' });
    mkdirSync(ARTIFACTS, { recursive: true });
    b = await startTestBackend({ executor: { local: { maxConcurrent: 3 } } });
    const saved = await saveWorkspace(b.client, { dir: join(REPO, 'examples/eta-correction'), model: 'eta-correction' });
    const first = await b.client.launch({ model: 'eta-correction', version: saved.version.label, params: { n: 1500, epochs: 12 } });
    await waitForRuns(b.client, first.runs.map((r) => r.id), 60000);
    await b.client.launch({ model: 'eta-correction', schedule: '0 3 * * 1', hardware: 'cpu-small', params: { n: 1500 }, sweep: { region: ['sfo', 'nyc', 'sea'] }, parallelism: 2 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  after(async () => {
    await browser?.close();
    await b?.close();
    if (b) removeHome(b.home);
    if (report.length) console.log(`\n  dashboard budgets (measured, not asserted):\n${report.map((l) => `    ${l}`).join('\n')}`);
  });

  async function newPage(theme: 'light' | 'dark', token: string | null = b.token): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
    await ctx.addInitScript(`localStorage.setItem('trainyard.theme', '${theme}');${LONGTASKS}${VISIBLE_ROWS}`);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    page.on('console', (m) => { if (m.type() === 'error' && !/401|Unauthorized/.test(m.text())) console.error('console:', m.text()); });
    if (token) await signIn(page, token);
    return page;
  }
  /**
   * Opens the #token= link and waits until the app took the token (it stores it and puts #/ in the
   * address bar when it first renders, which can come after the load event the goto waits for: a
   * hash changed before that would lose the token)
   */
  async function signIn(page: Page, token = b.token): Promise<void> {
    await page.goto(`${b.url}/#token=${encodeURIComponent(token)}`);
    await page.waitForFunction(() => !location.hash.includes('token='));
  }
  // the counter fixture, saved by the first test that needs it (the launch-form test expects eta-correction to be the only model)
  let counter: Promise<unknown> | null = null;
  const ensureCounter = () => (counter ??= saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1' }));
  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });

  it('serves the page with a CSP, hashed immutable assets, and keeps /v1 behind the token', async () => {
    const res = await fetch(`${b.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await res.text();
    const js = /src="assets\/(dashboard-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    assert.ok(js, html);
    const asset = await fetch(`${b.url}/assets/${js}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await fetch(`${b.url}/assets/..%2fmanifest.json`)).status, 404);
    assert.equal((await fetch(`${b.url}/v1/models`)).status, 401);
    assert.equal((await fetch(`${b.url}/openapi.json`)).status, 401);
    const gz = gzipSync(Buffer.from(await asset.arrayBuffer())).length;
    report.push(`bundle: ${(gz / 1024).toFixed(0)} KB gzipped JS (aim < 250 KB)`);
  });

  it('works behind a path prefix, as an editor\'s port proxy serves it (/proxy/PORT/)', async () => {
    // a reverse proxy that strips /proxy/7878, as code-server's does
    const proxy = createServer((req, res) => {
      if (!req.url?.startsWith('/proxy/7878/')) return void res.writeHead(404).end('not proxied');
      const up = new URL(b.url);
      const fwd = httpRequest({ host: up.hostname, port: up.port, path: req.url.slice('/proxy/7878'.length), method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(fwd);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const page = await newPage('light', null);
      await page.goto(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/proxy/7878/#token=${encodeURIComponent(b.token)}`);
      await page.waitForSelector('[data-run-id]');
      assert.ok((await page.locator('[data-run-id]').count()) > 0, 'runs listed through the prefix');
      await page.context().close();
    } finally {
      proxy.close();
    }
  });

  it('signs in from the #token= link, launches a sweep from the form and watches it succeed live', async () => {
    const page = await newPage('light');
    const firstRender = await page.waitForFunction(() => document.querySelector('[data-run-id]') ? performance.now() : 0).then((h) => h.jsonValue());
    report.push(`first render (navigation start to runs on screen): ${Math.round(firstRender as number)} ms (budget < 1000 ms)`);
    assert.ok(!page.url().includes('token='), `token left in the address bar: ${page.url()}`);
    assert.equal(await page.evaluate(() => localStorage.getItem('trainyard.token')), b.token);
    await shot(page, 'runs-light');

    await page.click('a[href="#/launch"]');
    await page.waitForFunction(() => /latest/.test(document.querySelector('#ty-launch-version')?.textContent ?? ''));
    assert.match(await page.locator('#ty-launch-version').innerText(), /latest/);
    await page.getByRole('button', { name: '+ param' }).click();
    await page.getByLabel('Params 1 name').fill('n');
    await page.getByLabel('Params 1 type').selectOption('number');
    await page.getByLabel('Params 1 value').fill('1500');
    await page.getByRole('button', { name: '+ param' }).click();
    await page.getByLabel('Params 2 name').fill('epochs');
    await page.getByLabel('Params 2 type').selectOption('number');
    await page.getByLabel('Params 2 value').fill('15');
    await page.getByRole('button', { name: '+ sweep axis' }).click();
    await page.getByLabel('Sweep axes 1 name').fill('region');
    await page.getByLabel('Sweep axes 1 value').fill('sfo, nyc, sea');
    await page.fill('#ty-launch-parallelism', '0');
    await page.locator('#ty-launch-parallelism').blur();
    await page.waitForSelector('#ty-launch-parallelism-error');
    assert.match(await page.locator('#ty-launch-parallelism-error').innerText(), />= 1/);
    await page.fill('#ty-launch-parallelism', '2');
    await page.waitForFunction(() => /3 runs/.test(document.querySelector('[data-testid=grid-size]')?.textContent ?? ''));
    await page.waitForFunction(() => /median of 1 past successful run/.test(document.querySelector('[data-testid=estimate]')?.textContent ?? ''));
    await shot(page, 'launch-light');
    await page.getByRole('button', { name: 'Launch 3 runs' }).click();
    await page.waitForSelector('[data-testid=launch-result] a[href^="#/sweeps/"]');
    await page.click('[data-testid=launch-result] a[href^="#/sweeps/"]');
    await page.waitForSelector('[data-testid=sweep-view]');
    await page.waitForFunction(() => document.querySelectorAll('[aria-label="Sweep runs"] .ty-status-Succeeded').length === 3, null, { timeout: 90000 });
    await page.waitForFunction(() => document.querySelectorAll('.ty-chart canvas').length >= 2 && /rmse final/.test(document.body.textContent ?? ''));
    await page.waitForTimeout(300);
    await shot(page, 'sweep-light');

    await page.click('[aria-label="Sweep runs"] tbody tr:first-child a');
    await page.waitForSelector('[data-testid=run-details][data-status=Succeeded]');
    await page.waitForFunction(() => /complete/.test(document.querySelector('[data-testid=log-count]')?.textContent ?? ''));
    await page.waitForSelector('.ty-logline');
    await page.waitForFunction(() => document.querySelectorAll('.ty-chart canvas').length >= 2);
    assert.match(await page.locator('[data-testid=log-viewer]').innerText(), /training eta-correction/);
    await page.getByLabel('Search logs').fill('rmse');
    await page.waitForFunction(() => /of \d+ matches/.test(document.querySelector('[data-testid=log-matches]')?.textContent ?? ''));
    await page.getByLabel('Search logs').fill('');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'run-light');
    await page.evaluate(() => document.querySelector('[data-testid=log-viewer]')?.scrollIntoView());
    await shot(page, 'run-logs-light');

    for (const [href, name] of [['#/models', 'models'], ['#/models/eta-correction', 'model'], ['#/schedules', 'schedules'], ['#/costs', 'costs'], ['#/runs', 'runs-live']] as const) {
      await page.goto(`${b.url}/${href}`);
      await page.waitForSelector('.ty-main > :not([role=status])');
      await page.waitForTimeout(400);
      await shot(page, `${name}-light`);
    }
    await page.context().close();
  });

  it('shows every main screen in the dark theme and the sign-in state without a token', async () => {
    const page = await newPage('dark');
    await page.waitForSelector('[data-run-id]');
    const runs = await b.client.listRuns({ model: 'eta-correction' });
    const sweepRun = runs.items.find((r) => r.sweepId) as Run;
    for (const [href, name] of [['#/runs', 'runs'], ['#/launch', 'launch'], [`#/sweeps/${sweepRun.sweepId}`, 'sweep'], [`#/runs/${sweepRun.id}`, 'run'], ['#/models', 'models'], ['#/schedules', 'schedules'], ['#/costs', 'costs']] as const) {
      await page.goto(`${b.url}/${href}`);
      await page.waitForSelector('.ty-main > :not([role=status])');
      if (name === 'sweep' || name === 'run') await page.waitForFunction(() => document.querySelectorAll('.ty-chart canvas').length >= 2);
      if (name === 'launch') await page.waitForFunction(() => /estimated/.test(document.querySelector('[data-testid=estimate]')?.textContent ?? ''));
      await page.waitForTimeout(400);
      await shot(page, `${name}-dark`);
    }
    await page.context().close();

    const anon = await newPage('dark', null);
    await anon.goto(`${b.url}/`);
    await anon.waitForSelector('[data-testid=sign-in]');
    assert.match(await anon.locator('[data-testid=sign-in]').innerText(), /Sign in to Trainyard/);
    await shot(anon, 'signin-dark');
    await anon.getByLabel('Token').fill(b.token);
    await anon.getByRole('button', { name: 'Sign in' }).click();
    await anon.waitForSelector('[data-run-id]');
    await anon.context().close();
  });

  it('follows a running run live: log lines, status and chart points arrive without a reload', async () => {
    await ensureCounter();
    const res = await b.client.launch({ model: 'counter', params: { steps: 16, sleep: 0.2 } });
    const id = res.runs[0].id;
    const page = await newPage('light');
    await page.waitForSelector('[data-run-id]');
    await page.evaluate((rid) => { (window as unknown as { __samePage: number }).__samePage = 1; location.hash = `#/runs/${rid}`; }, id);
    await page.waitForSelector('[data-testid=run-details][data-status=Running]', { timeout: 20000 });
    const lines = () => page.evaluate(() => Number((document.querySelector('[data-testid=log-count]')?.textContent ?? '').replace(/[^\d].*$/, '').replace(/,/g, '')) || 0);
    const points = () => page.evaluate(() => Number(document.querySelector('[data-testid=points-loss]')?.textContent ?? 0));
    await page.waitForFunction(() => /following live output/.test(document.querySelector('[data-testid=log-count]')?.textContent ?? ''));
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=points-loss]')?.textContent ?? 0) >= 2, null, { timeout: 10000 });
    const seen = { lines: await lines(), points: await points() };
    assert.equal(await page.getAttribute('[data-testid=run-details]', 'data-status'), 'Running', `the run finished before it could be watched: ${JSON.stringify(seen)}`);
    await page.waitForFunction((n) => Number((document.querySelector('[data-testid=log-count]')?.textContent ?? '').replace(/[^\d].*$/, '')) > n, seen.lines, { timeout: 10000 });
    await page.waitForTimeout(200);
    await shot(page, 'run-live-light');
    await page.waitForSelector('[data-testid=run-details][data-status=Succeeded]', { timeout: 30000 });
    await page.waitForFunction(() => /complete/.test(document.querySelector('[data-testid=log-count]')?.textContent ?? ''));
    const end = { lines: await lines(), points: await points() };
    assert.ok(end.lines > seen.lines, `lines ${seen.lines} -> ${end.lines}`);
    assert.ok(end.points > seen.points, `chart points ${seen.points} -> ${end.points}`);
    assert.equal(end.points, 16);
    assert.match(await page.locator('[data-testid=log-viewer]').innerText(), /step 16\/16/);
    assert.equal(await page.evaluate(() => (window as unknown as { __samePage?: number }).__samePage), 1, 'the page was reloaded');
    await page.context().close();
  });

  it('cancels a run only after the inline confirmation, and shows the result', async () => {
    await ensureCounter();
    for (const theme of ['light', 'dark'] as const) {
      const res = await b.client.launch({ model: 'counter', params: { steps: 300, sleep: 0.2 } });
      const id = res.runs[0].id;
      const page = await newPage(theme);
      await page.waitForSelector('[data-run-id]');
      await page.goto(`${b.url}/#/runs/${id}`);
      await page.waitForSelector('[data-testid=run-details][data-status=Running]', { timeout: 20000 });
      await page.getByRole('button', { name: 'Cancel run…' }).click();
      await page.waitForSelector('[data-testid=cancel-confirm]');
      await page.waitForTimeout(300);
      assert.equal((await b.client.getRun(id)).status, 'Running', 'asking does not cancel');
      await shot(page, `run-cancel-confirm-${theme}`);
      await page.getByRole('button', { name: 'Cancel run', exact: true }).click();
      await page.waitForSelector('[data-testid=cancel-result]');
      await page.waitForSelector('[data-testid=run-details][data-status=Cancelled]', { timeout: 20000 });
      assert.match(await page.locator('[data-testid=cancel-result]').innerText(), /Cancel requested/);
      await page.waitForTimeout(200);
      await shot(page, `run-cancelled-${theme}`);
      await page.context().close();
    }
  });

  it('lists schedules in plain words and deletes one after confirming, live', async () => {
    await ensureCounter();
    await b.client.launch({ model: 'counter', schedule: '30 */6 * * *', timezone: 'Europe/Paris', params: { steps: 3 } });
    const page = await newPage('dark');
    await page.waitForSelector('[data-run-id]');
    await page.click('a[href="#/schedules"]');
    await page.waitForSelector('[data-testid=schedule-list]');
    const cards = page.locator('[data-schedule-id]');
    assert.equal(await cards.count(), 2);
    const text = await page.locator('[data-testid=schedule-list]').innerText();
    assert.match(text, /Fires at 03:00 on Monday \(UTC\)/);
    assert.match(text, /sweep of 3 runs \(region: 3\), 2 at a time/);
    assert.match(text, /Europe\/Paris/);
    // one created elsewhere (the CLI, an editor) appears without a reload
    const extra = await b.client.launch({ model: 'counter', schedule: '0 12 1 * *', params: { steps: 1 } });
    await page.waitForFunction(() => document.querySelectorAll('[data-schedule-id]').length === 3);
    const card = page.locator(`[data-schedule-id="${extra.schedule!.id}"]`);
    await card.getByRole('button', { name: 'Delete…' }).click();
    await card.getByRole('button', { name: 'Delete schedule' }).waitFor();
    await shot(page, 'schedules-delete-dark');
    await card.getByRole('button', { name: 'Delete schedule' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-schedule-id]').length === 2);
    assert.ok(!(await b.client.listSchedules()).items.some((s) => s.id === extra.schedule!.id));
    await page.context().close();
  });

  it('maps the editor themes: VS Code (--vscode-*) and JupyterLab (--jp-*) variables', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, bypassCSP: true });
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    await signIn(page);
    // a sweep whose members have all finished with metrics (other tests may have one still running)
    let sweepRun: Run | undefined;
    for (const r of (await b.client.listRuns({ model: 'eta-correction', status: 'Succeeded', limit: 1000 })).items) {
      if (!r.sweepId) continue;
      const members = (await b.client.listRuns({ sweep: r.sweepId, limit: 1000 })).items;
      if (members.every((m) => m.status === 'Succeeded')) {
        sweepRun = r;
        break;
      }
    }
    assert.ok(sweepRun, 'an earlier test left a finished sweep');
    for (const [theme, vars, name] of [['vscode', VSCODE_DARK_PLUS, 'sweep-vscode'], ['jupyterlab', JUPYTERLAB_LIGHT, 'sweep-jupyterlab']] as const) {
      // an editor sets its variables and our theme class before the components mount
      await page.goto(`${b.url}/#/costs`);
      await page.reload();
      await page.waitForSelector('.ty-root');
      await page.addStyleTag({ content: `:root { ${vars} }` });
      await page.evaluate((t) => { document.querySelector('.ty-root')!.className = `ty-root ty-theme-${t} ty-app`; }, theme);
      await page.evaluate((id) => { location.hash = `#/sweeps/${id}`; }, sweepRun!.sweepId!);
      await page.waitForFunction(() => document.querySelectorAll('.ty-chart canvas').length >= 2).catch(async (err: Error) => {
        // what the page shows instead, for the next reader of a CI log
        await shot(page, `FAILED-theme-${theme}`).catch(() => undefined);
        const seen = await page.evaluate(() => `${location.hash}: ${(document.querySelector('.ty-root') as HTMLElement | null)?.innerText.replace(/\s+/g, ' ').slice(0, 600)}`).catch((e: Error) => e.message);
        throw new Error(`${err.message}\nthe page shows ${seen}\n${problems.slice(-10).join('\n')}`);
      });
      const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.ty-root')!).backgroundColor);
      assert.equal(bg, theme === 'vscode' ? 'rgb(30, 30, 30)' : 'rgb(255, 255, 255)');
      await shot(page, name);
    }
    await ctx.close();
  });

  it('measures long tasks with 10,000 runs and 100,000 log lines', async () => {
    const page = await newPage('dark', null);
    const base = (await b.client.listRuns({ limit: 1 })).items[0];
    const fake = Array.from({ length: 10000 }, (_, i): Run => ({
      ...base,
      id: `run_${String(i).padStart(12, '0')}`,
      status: (['Succeeded', 'Failed', 'Running', 'Pending', 'Cancelled'] as const)[i % 5],
      sweepId: i % 10 < 6 ? `swp_${String(Math.floor(i / 50)).padStart(12, '0')}` : null,
      sweepIndex: i % 50,
      params: { region: ['sfo', 'nyc', 'sea'][i % 3], lr: (i % 7) / 100 },
      createdAt: new Date(Date.now() - i * 60000).toISOString(),
    }));
    await page.route(/\/v1\/runs\?/, (route) => {
      const u = new URL(route.request().url());
      const from = Number(u.searchParams.get('cursor') ?? 0);
      const limit = Number(u.searchParams.get('limit') ?? 100);
      const items = fake.slice(from, from + limit);
      return route.fulfill({ json: { items, nextCursor: from + limit < fake.length ? String(from + limit) : null } });
    });
    const lines = Array.from({ length: 100000 }, (_, i) => JSON.stringify({
      seq: i, stream: i % 17 === 0 ? 'stderr' : 'stdout', time: new Date().toISOString(),
      text: i % 5 === 0 ? `\u001b[32mepoch ${i}\u001b[0m loss=\u001b[1;33m${(1 / (i + 1)).toFixed(6)}\u001b[0m` : `step ${i}: processed batch of 256 trips, region sfo, elapsed ${(i / 10).toFixed(1)}s`,
    })).join('\n') + '\n';
    await page.route(new RegExp(`/v1/runs/${base.id}/logs\\?follow=1`), (route) => route.fulfill({ body: lines, contentType: 'application/x-ndjson' }));

    await page.goto(`${b.url}/#token=${encodeURIComponent(b.token)}`);
    await page.waitForFunction(() => /10,000 of 10,000 runs/.test(document.querySelector('[data-testid=run-count]')?.textContent ?? ''), null, { timeout: 30000 });
    const loadTasks = await page.evaluate(() => (window as unknown as { __longtasks: { duration: number }[] }).__longtasks.splice(0));
    await page.evaluate(async () => {
      const el = document.querySelector('.ty-runlist-scroll') as HTMLElement;
      for (let i = 0; i < 180; i++) { el.scrollTop += 600; await new Promise((r) => requestAnimationFrame(r)); }
      return el.scrollTop;
    }).then((top) => assert.ok(top > 50000, `the run list did not scroll (scrollTop ${top})`));
    const scrollTasks = await page.evaluate(() => (window as unknown as { __longtasks: { duration: number }[] }).__longtasks.splice(0));
    await page.waitForFunction(() => visibleRows('.ty-runlist-scroll', '[data-run-id]') > 10, null, { timeout: 5000 });
    await shot(page, 'runs-10k-dark');
    report.push(`RunList 10,000 runs: loading ${describeTasks(loadTasks)}; scrolling 180 frames × 600 px ${describeTasks(scrollTasks)}`);

    await page.goto(`${b.url}/#/runs/${base.id}`);
    await page.waitForFunction(() => /100,000 lines/.test(document.querySelector('[data-testid=log-count]')?.textContent ?? ''), null, { timeout: 30000 });
    const logLoad = await page.evaluate(() => (window as unknown as { __longtasks: { duration: number }[] }).__longtasks.splice(0));
    await page.evaluate(async () => {
      const el = document.querySelector('.ty-logs-scroll') as HTMLElement;
      el.scrollTop = el.scrollHeight / 3;
      for (let i = 0; i < 180; i++) { el.scrollTop += 600; await new Promise((r) => requestAnimationFrame(r)); }
    });
    const logScroll = await page.evaluate(() => (window as unknown as { __longtasks: { duration: number }[] }).__longtasks.splice(0));
    await page.waitForFunction(() => visibleRows('.ty-logs-scroll', '.ty-logline') > 10, null, { timeout: 5000 });
    await page.getByLabel('Search logs').fill('epoch 9');
    await page.waitForFunction(() => /of [\d,]+ matches/.test(document.querySelector('[data-testid=log-matches]')?.textContent ?? ''), null, { timeout: 20000 });
    const logSearch = await page.evaluate(() => (window as unknown as { __longtasks: { duration: number }[] }).__longtasks.splice(0));
    await page.evaluate(() => document.querySelector('[data-testid=log-viewer]')?.scrollIntoView());
    await shot(page, 'logs-100k-dark');
    report.push(`LogViewer 100,000 lines: loading ${describeTasks(logLoad)}; scrolling 180 frames × 600 px ${describeTasks(logScroll)}; searching ${describeTasks(logSearch)}`);
    await page.context().close();
  });

  it('lists a run\'s artifacts, downloads one to the right bytes without a token in any URL, and launches predict with a trained model', async () => {
    await saveWorkspace(b.client, { dir: join(REPO, 'test/fixtures/outputs'), model: 'outputs', version: 'v1', cacheDir: false });
    const res = await b.client.launch({ model: 'outputs', params: { files: 2, same: true } });
    const [trained] = await waitForRuns(b.client, [res.runs[0].id], 60000);
    assert.equal(trained.status, 'Succeeded', trained.reason ?? '');
    const list = await b.client.listArtifacts(trained.id);
    for (const theme of ['light', 'dark'] as const) {
      const page = await newPage(theme);
      const urls: string[] = [];
      page.on('request', (r) => urls.push(r.url()));
      await page.waitForSelector('[data-run-id]');
      await page.goto(`${b.url}/#/runs/${trained.id}`);
      await page.waitForSelector('[data-testid=run-artifacts][data-state=stored] [data-artifact="same.txt"]');
      const rows = await page.locator('[aria-label="Artifact files"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-artifact') ?? `${tr.getAttribute('data-artifact-dir')}/`));
      assert.deepEqual(rows, ['parts/', 'parts/part-0000.txt', 'parts/part-0001.txt', 'same.txt']);
      assert.equal(await page.locator('[data-artifact="same.txt"] [data-testid=artifact-size]').innerText(), '22 B');
      assert.match(await page.getByTestId('artifacts-total').innerText(), /^3 files, \d+ B in all/);
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Download parts/part-0001.txt' }).click();
      const d = await download;
      assert.equal(d.suggestedFilename(), 'part-0001.txt');
      const got = readFileSync((await d.path())!);
      const want = list.files.find((f) => f.path === 'parts/part-0001.txt')!;
      assert.equal(createHash('sha256').update(got).digest('hex'), want.sha256);
      assert.match(got.toString(), new RegExp(`^part 1 of run ${trained.id}\n$`));
      await page.waitForSelector('[data-artifact="parts/part-0001.txt"] [data-testid=artifact-saved]');
      assert.ok(urls.some((u) => u.includes(`/v1/runs/${trained.id}/artifacts/parts/part-0001.txt`)), 'the file came from the API');
      assert.deepEqual(urls.filter((u) => u.includes(b.token) || /token=/.test(u)), [], 'no token in a URL');
      await page.evaluate(() => document.querySelector('[data-testid=run-artifacts]')?.scrollIntoView({ block: 'center' }));
      await page.waitForTimeout(200);
      await shot(page, `run-artifacts-${theme}`);
      await page.context().close();
    }

    // predict with the trained model, from the launch form
    const page = await newPage('light');
    await page.waitForSelector('[data-run-id]');
    await page.goto(`${b.url}/#/launch?model=outputs`);
    await page.waitForFunction(() => /v1/.test(document.querySelector('#ty-launch-version')?.textContent ?? ''));
    await page.locator('#ty-launch-entrypoint').selectOption('predict');
    const pick = page.getByLabel('Use a trained model');
    await page.waitForFunction((id) => [...(document.querySelector('#ty-launch-fromRun') as HTMLSelectElement).options].some((o) => o.value === id), trained.id);
    await pick.selectOption(trained.id);
    await page.waitForTimeout(300);
    await shot(page, 'launch-from-run-light');
    await page.getByRole('button', { name: 'Launch run' }).click();
    await page.click('[data-testid=launch-result] a[href^="#/runs/"]');
    await page.waitForSelector('[data-testid=run-details][data-status=Succeeded]', { timeout: 60000 });
    assert.equal(await page.getByTestId('run-input').innerText(), `the artifacts of run ${trained.id}`);
    await shot(page, 'run-input-light');
    await page.click('[data-testid=run-input] a');
    await page.waitForFunction((id) => location.hash === `#/runs/${id}`, trained.id);
    await page.context().close();
  });
});

// a few of VS Code's Dark+ and JupyterLab's light theme variables, as the editors set them
const VSCODE_DARK_PLUS = `--vscode-editor-background: #1e1e1e; --vscode-sideBar-background: #252526; --vscode-foreground: #cccccc;
  --vscode-descriptionForeground: #9d9d9d; --vscode-panel-border: #80808059; --vscode-button-background: #0e639c; --vscode-button-foreground: #ffffff;
  --vscode-focusBorder: #007fd4; --vscode-input-background: #3c3c3c; --vscode-input-foreground: #cccccc; --vscode-errorForeground: #f48771;
  --vscode-editorWarning-foreground: #cca700; --vscode-textLink-foreground: #3794ff; --vscode-list-hoverBackground: #2a2d2e;
  --vscode-terminal-ansiBlue: #2472c8; --vscode-terminal-ansiRed: #cd3131; --vscode-terminal-ansiGreen: #0dbc79; --vscode-terminal-ansiYellow: #e5e510;
  --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: 'DejaVu Sans Mono', monospace;`;
const JUPYTERLAB_LIGHT = `--jp-layout-color0: #ffffff; --jp-layout-color1: #ffffff; --jp-layout-color2: #eeeeee; --jp-ui-font-color1: rgba(0,0,0,0.87);
  --jp-ui-font-color2: rgba(0,0,0,0.54); --jp-border-color1: #bdbdbd; --jp-border-color2: #e0e0e0; --jp-brand-color1: #1976d2;
  --jp-ui-inverse-font-color1: #ffffff; --jp-success-color1: #388e3c; --jp-warn-color1: #f57c00; --jp-error-color1: #d32f2f; --jp-info-color1: #0097a7;
  --jp-content-font-color1: rgba(0,0,0,0.87); --jp-ui-font-family: system-ui, sans-serif; --jp-code-font-family: 'DejaVu Sans Mono', monospace; --jp-ui-font-size1: 13px;`;

function describeTasks(tasks: { duration: number }[]): string {
  if (tasks.length === 0) return 'no long tasks';
  return `${tasks.length} long task${tasks.length === 1 ? '' : 's'} (max ${Math.round(Math.max(...tasks.map((t) => t.duration)))} ms)`;
}
