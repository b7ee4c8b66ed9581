// A throwaway PostgreSQL cluster for tests, from the Debian server binaries.
// initdb into a fresh temp dir (trust auth, no sync), listen on 127.0.0.1 only on a free
// port, unix socket in the temp dir, fsync off; wait with pg_ctl -w and a real connection;
// create database trainyard_test. halt()/resume() stop and start the same server (the store-fault tests). Postgres refuses to run as root, so when we are root
// every server command runs as the `postgres` system user (or `trainyard-pg`, created
// if neither exists) and the temp dir is chowned to it. stop() = pg_ctl stop -m immediate
// + rm -rf; exit and SIGINT/SIGTERM hooks do the same if the process ends without stop().
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync, readFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresHandle {
  url: string;
  stop(): Promise<void>;
  /** the store-fault tests: stop the server as a crash would (pg_ctl stop -m immediate), keeping its data */
  halt(): Promise<void>;
  /** start a halted server again, on the same port and data */
  resume(): Promise<void>;
}

function binDir(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch { /* no pg_config */ }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(root, v, 'bin')));
  }
  const dir = candidates.find((d) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(d, b))));
  if (!dir) throw new Error(`PostgreSQL server binaries not found (looked in: ${candidates.join(', ') || 'nothing'}); apt-get install postgresql`);
  return dir;
}

/** uid/gid to run the server as: ourselves unless root, else a system user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (name: string) => {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
      return { uid, gid };
    } catch { return undefined; }
  };
  const found = id('postgres') ?? id('trainyard-pg');
  if (found) return found;
  execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', 'trainyard-pg']);
  return id('trainyard-pg')!;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { ...user, cwd: '/', env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * `durable`: commits are flushed to the WAL before they are acknowledged (synchronous_commit on), so a
 * server stopped as by a crash (halt()) loses nothing it acknowledged; the default trades that for speed.
 */
export async function startPostgres(opts: { durable?: boolean } = {}): Promise<PostgresHandle> {
  const bin = binDir();
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (user) chownSync(dir, user.uid, user.gid);
  const pgCtl = (...args: string[]) => run(join(bin, 'pg_ctl'), ['-D', data, ...args], user);

  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    const pidFile = join(data, 'postmaster.pid');
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT'); // = pg_ctl stop -m immediate
      // the server removes its pid file last; removing the dir under it races its exit
      for (let i = 0; i < 100 && existsSync(pidFile); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    } catch { /* not running */ }
    try { rmSync(dir, { recursive: true, force: true, maxRetries: 5 }); } catch { /* best effort at exit */ }
  };
  const onSignal = (sig: NodeJS.Signals) => { detach(); stopSync(); process.kill(process.pid, sig); };
  const detach = () => {
    process.removeListener('exit', stopSync);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
  process.once('exit', stopSync);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], user);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      appendFileSync(data + '/postgresql.conf', [
        '', `listen_addresses = '127.0.0.1'`, `port = ${port}`, `unix_socket_directories = '${dir}'`,
        'fsync = off', `synchronous_commit = ${opts.durable ? 'on' : 'off'}`, 'full_page_writes = off', '',
      ].join('\n'));
      try {
        await pgCtl('-l', log, '-w', '-t', '60', 'start');
        break;
      } catch (err) {
        // another process may have taken the port between probe and bind: retry (later lines win)
        if (attempt >= 3) throw new Error(`${(err as Error).message}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
      }
    }
    const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE trainyard_test');
    } finally {
      await admin.end();
    }
    return {
      url: `postgres://postgres@127.0.0.1:${port}/trainyard_test`,
      halt: () => pgCtl('-m', 'immediate', '-w', 'stop').then(() => undefined),
      resume: () => pgCtl('-l', log, '-w', '-t', '60', 'start').then(() => undefined),
      async stop() {
        if (stopped) return;
        detach();
        await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => undefined);
        stopSync();
      },
    };
  } catch (err) {
    detach();
    stopSync();
    throw err;
  }
}
