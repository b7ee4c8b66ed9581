/**
 * The save client the Jupyter server extension spawns for every Save Model (jupyterlab-ext/src-node/save-cli.ts),
 * bundled as the package bundles it (jupyterlab-ext/save-cli-build.mjs) and run against a real backend: it saves, and it does
 * not load Node's fetch (undici): a process that lives for one save talks over node:http
 * (shared/src/http-fetch.ts). With fetch, a re-save of the example took 232 ms here, with
 * node:http 148 ms (medians of 10, alternating, 2026-12-02).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO, removeHome, startTestBackend, type TestBackend } from '../helpers/backend';
import { saveCliBuild } from '../../jupyterlab-ext/save-cli-build.mjs';

describe('jupyterlab save client (src-node/save-cli.ts)', function () {
  this.timeout(120_000);
  let b: TestBackend;
  let dir: string;

  before(async () => {
    b = await startTestBackend();
    dir = mkdtempSync(join(tmpdir(), 'ty-save-cli-'));
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
    rmSync(dir, { recursive: true, force: true });
  });

  it("saves a notebook's workspace and loads no undici", async () => {
    const bundle = join(dir, 'save-cli.mjs');
    await build(saveCliBuild(bundle));
    const ws = join(dir, 'eta');
    cpSync(join(REPO, 'examples/eta-correction'), ws, { recursive: true });
    const loaded = join(dir, 'loaded.json');
    writeFileSync(join(dir, 'preload.mjs'), `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(process.moduleLoadList)));\n`);
    const request = { mode: 'save', dir: ws, notebook: 'notebook.ipynb', model: 'save-cli-check', remember: false };
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        process.execPath,
        ['--import', join(dir, 'preload.mjs'), bundle],
        { env: { ...process.env, TRAINYARD_URL: b.url, TRAINYARD_TOKEN: b.token, XDG_CACHE_HOME: join(dir, 'cache') }, encoding: 'utf8' },
        (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${out}\n${stderr}`)) : resolve(out)),
      );
      child.stdin!.end(JSON.stringify(request));
    });
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; version?: { model: string } });
    assert.equal(events.at(-1)?.type, 'result', stdout);
    assert.equal(events.at(-1)?.version?.model, 'save-cli-check');
    const builtins = JSON.parse(readFileSync(loaded, 'utf8')) as string[];
    assert.ok(builtins.some((m) => /node:?http|_http_client/.test(m)), `the list names the built-ins loaded: ${builtins.length}`);
    assert.deepEqual(builtins.filter((m) => /undici/.test(m)), []);
  });
});
