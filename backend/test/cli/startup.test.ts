/**
 * What a client verb loads and what it leaves running (bench/cli.bench.ts has the times):
 * the built CLI runs with a preload that records every module resolved and, at exit, the
 * built-ins Node loaded; `--help` and `runs` must load no server package and not Node's fetch
 * (undici). A local `serve` must not load the Kubernetes client (loadKube, kubernetes/client.ts), nor Node's
 * fetch when it saves into a registry (registry/http.ts: ~200 ms of a server's first save). And a save,
 * once it has answered, leaves nothing (timer, socket) holding the process open.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, freePort, REPO, removeHome, startTestBackend, type TestBackend } from '../../../test/helpers/backend';
import { startRegistry } from '../../../test/components/registry';

/** packages only the server uses; a client verb that loads one pays for it at every start */
const SERVER_ONLY = ['typebox', 'fastify', 'kysely', 'pg', '@kubernetes/client-node', 'yaml', 'ajv', '@fastify/swagger', 'croner', 'tar-stream'];

const PRELOAD = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const urls = new Set();
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); urls.add(r.url); return r; } });
process.on('exit', () => writeFileSync(process.env.TY_LOADED_OUT, JSON.stringify({ urls: [...urls], builtins: process.moduleLoadList })));
`;

interface Loaded {
  code: number | null;
  stderr: string;
  packages: string[];
  builtins: string[];
}

describe('cli start-up: what a client verb loads', function () {
  let b: TestBackend;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    execFileSync(process.execPath, [join(REPO, 'backend/build.mjs')], { stdio: 'inherit' });
    b = await startTestBackend();
    dir = mkdtempSync(join(tmpdir(), 'ty-startup-'));
    writeFileSync(join(dir, 'preload.mjs'), PRELOAD);
    env = { ...process.env, TRAINYARD_URL: b.url, TRAINYARD_HOME: b.home, NO_COLOR: '1' };
    delete env.TRAINYARD_TOKEN;
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
    rmSync(dir, { recursive: true, force: true });
  });

  /** `ready`: once it answers, the process is stopped with SIGTERM (a server) */
  function run(args: string[], ready?: () => Promise<boolean>, more: NodeJS.ProcessEnv = {}): Promise<Loaded> {
    const out = join(dir, `loaded-${args[0]}.json`);
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', join(dir, 'preload.mjs'), CLI, ...args], { env: { ...env, ...more, TY_LOADED_OUT: out }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      if (ready) {
        void (async () => {
          for (const end = Date.now() + 60_000; child.exitCode === null && Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
            if (await ready()) break;
          }
          child.kill('SIGTERM');
        })();
      }
      child.on('close', (code) => {
        const { urls, builtins } = JSON.parse(readFileSync(out, 'utf8')) as { urls: string[]; builtins: string[] };
        const packages = [...new Set(urls.flatMap((u) => {
          const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
          return m ? [m[1]] : [];
        }))];
        resolve({ code, stderr, packages, builtins });
      });
    });
  }

  for (const args of [['--help'], ['runs'], ['hardware']]) {
    it(`trainyard ${args.join(' ')} loads commander and no server package, and not Node's fetch`, async () => {
      const r = await run(args);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.packages.includes('commander'), `the hook saw the CLI's packages: ${r.packages.join(', ')}`);
      assert.deepEqual(r.packages.filter((p) => SERVER_ONLY.includes(p)), [], `loaded: ${r.packages.join(', ')}`);
      assert.deepEqual(r.builtins.filter((m) => /undici/.test(m)), []);
    });
  }

  it('trainyard serve does load the server (the check above can see it)', async () => {
    // --config of a missing file: the config parser loads, then refuses; serve starts nothing
    const r = await run(['serve', '--config', join(dir, 'missing.yaml')]);
    assert.equal(r.code, 1);
    assert.ok(r.packages.includes('yaml') && r.packages.includes('typebox'), `loaded: ${r.packages.join(', ')}`);
  });

  it('a local trainyard serve does not load the Kubernetes client; one configured for Kubernetes does', async function () {
    this.timeout(120_000);
    const serve = async (name: string, config: object) => {
      const port = await freePort();
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify({ server: { host: '127.0.0.1', port }, ...config }));
      const answers = () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      let answered = false;
      // a data home of its own (not the test backend's)
      const r = await run(['serve', '--config', file], async () => (answered = await answers()), { TRAINYARD_HOME: join(dir, `home-${name}`) });
      return { ...r, answered };
    };
    const local = await serve('local', {});
    assert.ok(local.answered, `the local server answered /healthz: ${local.stderr}`);
    assert.ok(local.packages.includes('fastify'), `the hook saw the server's packages: ${local.packages.join(', ')}`);
    assert.ok(!local.packages.includes('@kubernetes/client-node'), `loaded: ${local.packages.join(', ')}`);
    // the control: a kubeconfig that does not exist fails the start, after the client is loaded
    const k8s = await serve('k8s', { executor: { kind: 'kubernetes', kubernetes: { kubeconfig: join(dir, 'missing-kubeconfig'), namespace: 'x' } } });
    assert.notEqual(k8s.code, 0);
    assert.ok(k8s.packages.includes('@kubernetes/client-node'), `loaded: ${k8s.packages.join(', ')}; ${k8s.stderr}`);
  });

  it("a local trainyard serve that saves into a registry does not load Node's fetch (undici)", async function () {
    this.timeout(120_000);
    const reg = await startRegistry();
    try {
      const port = await freePort();
      const file = join(dir, 'registry.json');
      writeFileSync(file, JSON.stringify({ server: { host: '127.0.0.1', port }, images: { registry: `${reg.url}/startup` } }));
      const ws = join(dir, 'ws-registry');
      cpSync(join(REPO, 'examples/eta-correction'), ws, { recursive: true });
      const home = join(dir, 'home-registry');
      let saved = null as { imageRef?: string } | null; // set in the callback below
      let failure = '';
      const r = await run(['serve', '--config', file], async () => {
        if (!(await fetch(`http://127.0.0.1:${port}/healthz`).then((x) => x.ok, () => false))) return false;
        // a save through the server: a config, a code layer and a manifest pushed, a blob or two asked after
        try {
          const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'save', ws, '--model', 'registry-check', '--json'], { env: { ...env, TRAINYARD_URL: `http://127.0.0.1:${port}`, TRAINYARD_HOME: home, XDG_CACHE_HOME: join(home, 'cache') }, encoding: 'utf8' });
          saved = (JSON.parse(stdout) as { version: { imageRef: string } }).version;
        } catch (err) {
          failure = (err as Error).message;
        }
        return true;
      }, { TRAINYARD_HOME: home });
      assert.ok(saved, `the save went through the server: ${failure} ${r.stderr}`);
      assert.match(saved!.imageRef ?? '', new RegExp(`^${reg.host}/startup/`));
      assert.deepEqual(r.builtins.filter((m) => /undici/.test(m)), []);
    } finally {
      await reg.stop();
    }
  });

  it('trainyard save leaves nothing holding the process once it has answered', async () => {
    // the CLI's own client and saveWorkspace in a child; what keeps its event loop alive right after
    const ws = join(dir, 'ws');
    cpSync(join(REPO, 'examples/eta-correction'), ws, { recursive: true });
    const script = join(REPO, 'backend/test/cli', '.startup-save.tmp.ts');
    writeFileSync(script, `
      import { saveWorkspace } from '@trainyard/shared/snapshot/save';
      import { createDeps } from '../../src/cli/deps';
      const deps = createDeps(${JSON.stringify(CLI)});
      const res = await saveWorkspace(deps.client(), { dir: ${JSON.stringify(ws)}, model: 'startup-check', cacheDir: false, onProgress: () => undefined });
      console.log(JSON.stringify({ label: res.version.label }));
      // an unref'd timer fires only while something else keeps the process alive
      setInterval(() => console.log(JSON.stringify({ holding: process.getActiveResourcesInfo() })), 100).unref();
    `);
    try {
      // not execFileSync: the backend answers from this process's event loop. TSX_DISABLE_CACHE: tsx writes
      // the modules it compiled to its cache in the background (fs callbacks), and on a loaded machine one
      // still pending after the answer was taken for the save's (CI, 2026-12-01: FSReqCallback)
      const { stdout: out } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { env: { ...env, TSX_DISABLE_CACHE: '1' }, cwd: REPO, encoding: 'utf8' });
      const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { label?: string; holding?: string[] });
      assert.ok(lines[0].label);
      // the process ended with its work: nothing (a timer, a socket) kept it running after the answer
      assert.deepEqual(lines.slice(1), []);
    } finally {
      rmSync(script, { force: true });
    }
  });
});
