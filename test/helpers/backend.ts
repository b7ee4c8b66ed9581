/**
 * A real backend for integration tests: in-process (startServer) on a free
 * port with a temp data home, or as a child process of the built CLI so a
 * test can SIGKILL it. Both use the embedded defaults unless told otherwise.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { TrainyardClient, type Run, type RunStatus } from '@trainyard/shared';
import { resolveConfig } from '../../backend/src/config';
import { startServer, type RunningServer } from '../../backend/src/app';

export const REPO = resolve(import.meta.dirname, '../..');
export const CLI = join(REPO, 'backend/dist/trainyard.mjs');
export const COUNTER = join(REPO, 'test/fixtures/counter');

export interface TestBackend {
  url: string;
  token: string;
  home: string;
  client: TrainyardClient;
  server: RunningServer;
  close(): Promise<void>;
}

export async function startTestBackend(config: Record<string, unknown> = {}, home = mkdtempSync(join(tmpdir(), 'ty-home-'))): Promise<TestBackend> {
  const prev = process.env.TRAINYARD_HOME;
  process.env.TRAINYARD_HOME = home;
  try {
    const resolved = resolveConfig({ ...config, server: { port: 0, ...(config.server as object) } }, home);
    const server = await startServer(resolved);
    return {
      url: server.url,
      token: server.token,
      home,
      server,
      client: new TrainyardClient({ baseUrl: server.url, token: server.token }),
      close: () => server.close(),
    };
  } finally {
    if (prev === undefined) delete process.env.TRAINYARD_HOME;
    else process.env.TRAINYARD_HOME = prev;
  }
}

export function removeHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
}

/** The backend as a separate process of the built CLI (`trainyard serve`), for crash tests. */
export async function spawnBackend(home: string, port: number, config: Record<string, unknown> = {}): Promise<{ child: ChildProcess; url: string }> {
  const file = join(home, 'trainyard.yaml');
  writeFileSync(file, JSON.stringify({ ...config, server: { host: '127.0.0.1', port } }));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file], {
    env: { ...process.env, TRAINYARD_HOME: home, TRAINYARD_DEBUG: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`backend exited with ${child.exitCode}: ${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return { child, url };
    } catch {
      /* not yet */
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`backend did not become healthy in 20 s: ${output}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FINAL: RunStatus[] = ['Succeeded', 'Failed', 'Cancelled'];

/** Polls until every run is final (or the timeout passes) and returns them. */
export async function waitForRuns(client: TrainyardClient, ids: string[], timeoutMs = 60000, until: (r: Run) => boolean = (r) => FINAL.includes(r.status)): Promise<Run[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await Promise.all(ids.map((id) => client.getRun(id)));
    if (runs.every(until)) return runs;
    if (Date.now() > deadline) throw new Error(`runs not done in ${timeoutMs} ms: ${runs.map((r) => `${r.id}=${r.status}(${r.reason ?? ''})`).join(', ')}`);
    await sleep(150);
  }
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}
