/**
 * Start Local Backend in real VS Code (code-server): the extension points at a URL where nothing
 * listens (the views say unreachable), the command runs `trainyard serve` (trainyard.cliPath: a
 * small wrapper around the built CLI with a config for a free port, which writes its pid), the
 * backend's output goes to the "Trainyard Backend" output channel, the views connect by
 * themselves, and the backend stops with the window (a window reload ends the extension host).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, freePort, sleep } from '../helpers/backend';
import { buildVsix, CHROMIUM, openTrainyard, runCommand, startCodeServer, viewRows, type CodeServer } from './code-server';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe('VS Code extension: Start Local Backend (code-server + Chromium)', function () {
  this.timeout(180000);
  let cs: CodeServer;
  let dir: string;
  let pidFile: string;

  before(async function () {
    this.timeout(300000);
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing`);
    dir = mkdtempSync(join(tmpdir(), 'ty-vsc-start-'));
    const port = await freePort();
    const home = join(dir, 'home');
    pidFile = join(dir, 'backend.pid');
    writeFileSync(join(dir, 'trainyard.yaml'), JSON.stringify({ server: { host: '127.0.0.1', port } }));
    const cli = join(dir, 'trainyard');
    writeFileSync(cli, `#!/bin/sh\n# test wrapper: \`trainyard serve\` on a free port with its own data home\necho $$ > '${pidFile}'\nTRAINYARD_HOME='${home}' exec '${process.execPath}' '${CLI}' "$@" --config '${join(dir, 'trainyard.yaml')}'\n`);
    chmodSync(cli, 0o755);
    const ws = join(dir, 'ws');
    mkdirSync(ws);
    cs = await startCodeServer({ vsix: buildVsix(), workspace: ws, settings: { 'trainyard.url': `http://127.0.0.1:${port}`, 'trainyard.cliPath': cli }, env: { TRAINYARD_HOME: home } });
  });

  after(async () => {
    await cs?.stop();
    if (pidFile && existsSync(pidFile)) { const pid = Number(readFileSync(pidFile, 'utf8')); if (alive(pid)) process.kill(pid, 'SIGKILL'); }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts `trainyard serve`, shows its output, connects, and stops it with the window', async () => {
    const { page } = cs;
    await openTrainyard(page);
    await viewRows(page, 'Runs').filter({ hasText: 'Backend unreachable' }).waitFor({ timeout: 30000 });
    await runCommand(page, 'Trainyard: Start Local Backend');
    await page.locator('.part.panel .monaco-editor .view-lines', { hasText: 'serve' }).waitFor({ timeout: 30000 });
    await viewRows(page, 'Runs').filter({ hasText: 'No runs yet' }).waitFor({ timeout: 60000 });
    await page.locator('.statusbar-item', { hasText: /^\s*Trainyard\s*$/ }).waitFor();
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(alive(pid), 'the backend is not running');
    await page.reload();
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
    assert.equal(alive(pid), false, 'the backend outlived the window');
  });
});
