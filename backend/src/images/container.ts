/**
 * Podman for image building: the self-test of a new version and the
 * `install` dependency strategy run short-lived containers.
 *
 * The flags are the runtime's (runtime/podman.ts: detectPodman picks
 * `--runtime=runc --cgroup-manager=cgroupfs` when runc is there; an embedder
 * may pass its own global flags), plus `--ulimit nofile=1024:1024 --ulimit
 * nproc=4096:4096` (podman's defaults are above what this kind of host lets
 * runc set) and the runtime's HARDENING_FLAGS (no capabilities, no new privileges). Images are handed to podman as one-image OCI layout "views"
 * (index.json naming one manifest "latest", blobs/ a symlink to the real blob
 * pool), made runnable by runnableImage() (podman cannot run an `oci:` path
 * with "."-components such as ~/.trainyard). Output is kept as the last lines
 * only (runContainer's `tail`).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { detectPodman, HARDENING_FLAGS, podmanLinkDir, podmanQuiet, runnableImage, type PodmanSetup, type RunnableImage } from '../runtime/podman';

export type { PodmanSetup, RunnableImage };

export const RUN_FLAGS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096', ...HARDENING_FLAGS];

const probes = new Map<string, Promise<PodmanSetup | null>>();

/** podman with its global flags (cached per override), or null when podman is not on PATH */
export function findPodman(globalArgs?: string[]): Promise<PodmanSetup | null> {
  const key = globalArgs ? globalArgs.join('\0') : '';
  let p = probes.get(key);
  if (!p) {
    p = detectPodman(globalArgs);
    probes.set(key, p);
  }
  return p;
}

/**
 * A runnable `oci:` reference for one manifest whose blobs are in `blobsDir`
 * (a layout's blobs/ directory): a view under `viewsDir` (<data home>/oci-views),
 * keyed by digest, named through a link in <data home>/podman-oci (run podman in `cwd`).
 */
export async function layoutView(viewsDir: string, blobsDir: string, manifest: { digest: string; mediaType: string; size: number }): Promise<RunnableImage> {
  const view = join(viewsDir, `${manifest.digest.replace(/^sha256:/, '')}-${createHash('sha256').update(blobsDir).digest('hex').slice(0, 12)}`);
  try {
    await access(join(view, 'index.json'));
  } catch {
    const tmp = `${view}.tmp-${randomBytes(6).toString('hex')}`;
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await symlink(blobsDir, join(tmp, 'blobs'));
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
    };
    await writeFile(join(tmp, 'index.json'), JSON.stringify(index));
    await rename(tmp, view).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err; // made meanwhile
    });
  }
  return runnableImage(`oci:${view}:latest`, manifest.digest, podmanLinkDir(dirname(viewsDir)));
}

/** `--tls-verify=false` for a plain-http registry on this machine (podman defaults to https) */
export function tlsFlags(image: string): string[] {
  return /^docker:\/\/(localhost|127\.[0-9.]+|\[::1\])(:\d+)?\//.test(image) ? ['--tls-verify=false'] : [];
}

/** keeps the last `max` lines of a stream of text */
export class TailBuffer {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max = 50) {}
  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > 8192) this.partial = this.partial.slice(-8192);
    for (const p of parts) this.lines.push(p.length > 2000 ? `${p.slice(0, 2000)}…` : p);
    if (this.lines.length > this.max * 2) this.lines = this.lines.slice(-this.max);
  }
  text(): string {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-this.max).join('\n');
  }
}

export interface ProcessResult {
  code: number | null;
  timedOut: boolean;
  /** the last lines of stdout and stderr, interleaved as they came */
  tail: string;
}

/** runs argv to completion (kill: on timeout), keeping the last `lines` lines of its output */
export function runCaptured(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number; lines?: number; kill?: () => Promise<unknown> }): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const tail = new TailBuffer(opts.lines ?? 50);
    const child = spawn(argv[0], argv.slice(1), { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void (opts.kill?.() ?? Promise.resolve()).finally(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      });
    }, opts.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => tail.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => tail.push(d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, tail: tail.text() });
    });
  });
}

/** `podman run --rm --name <name> …args` to completion (in `cwd`: a RunnableImage's); a timeout removes the container */
export function runContainer(setup: PodmanSetup, name: string, args: string[], opts: { timeoutMs: number; lines?: number; cwd?: string | null }): Promise<ProcessResult> {
  const argv = [setup.bin, ...setup.globalArgs, 'run', '--rm', '-q', '--name', name, ...(setup.init ? ['--init'] : []), ...RUN_FLAGS, ...args];
  return runCaptured(argv, { timeoutMs: opts.timeoutMs, lines: opts.lines, cwd: opts.cwd ?? undefined, kill: () => podmanQuiet(setup, ['rm', '-f', '-t', '0', name]) });
}

export const containerId = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
