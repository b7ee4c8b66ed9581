/**
 * The podman path: runs a version's image as a container named
 * trainyard-<run id>, under the same detached wrapper as the process sandbox
 * (the wrapper runs `podman run` in the foreground, so its exit code is the
 * container's, and `timeout` stops it at the deadline).
 *
 * Flags, and why:
 *  - global `--runtime=runc --cgroup-manager=cgroupfs` when runc is installed
 *    (what this kind of sandbox needs: crun fails on hybrid cgroups, there is
 *    no systemd), unless the embedder passes its own global flags (tests use
 *    a store of their own: --root/--runroot/--storage-driver);
 *  - `--rm` (plus a `podman rm -f` by the wrapper afterwards, in case the
 *    podman client was killed while the container lived on);
 *  - `--log-driver=passthrough`: the container writes straight into the
 *    run's stdout.log/stderr.log (no copy through the client, no second copy
 *    in podman's storage);
 *  - `--init` when catatonit is present: `sh -c` as PID 1 would ignore
 *    SIGTERM, so cancel and deadline would always wait for the SIGKILL;
 *  - `--cpus`/`--memory` from the hardware profile (real cgroup limits);
 *  - `--ulimit nofile=1024:1024 --ulimit nproc=4096:4096`: podman's defaults
 *    are above what this host lets runc set (EPERM), so they are lowered;
 *  - `-q`: no pull progress in the run's stderr.
 * Environment (container paths): HOME=/trainyard/home and
 * TRAINYARD_OUTPUT_DIR=/trainyard/output, both bind-mounted from the run dir,
 * PYTHONPATH=/opt/trainyard/python, cwd /app; PATH is the image's own.
 */
import { execFile, spawn } from 'node:child_process';
import { access, constants as fsc, mkdir, readlink, rename, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { delimiter, join } from 'node:path';
import type { RunSpec } from '../executor';
import { parseQuantity } from './admission';
import { contractEnv, SYSTEM_PATH, type Prepared } from './process-sandbox';

export function containerName(runId: string): string {
  return `trainyard-${runId}`;
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, fsc.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` looked up on PATH, or null. */
export async function which(name: string, path = process.env.PATH ?? SYSTEM_PATH): Promise<string | null> {
  for (const dir of path.split(delimiter)) {
    if (dir && (await executable(join(dir, name)))) return join(dir, name);
  }
  return null;
}

export interface PodmanSetup {
  bin: string;
  globalArgs: string[];
  init: boolean;
}

/** Finds podman on PATH and decides the host-dependent flags; null when podman is absent. */
export async function detectPodman(globalArgsOverride?: string[]): Promise<PodmanSetup | null> {
  const bin = await which('podman');
  if (!bin) return null;
  const globalArgs = globalArgsOverride ?? ((await which('runc')) ? ['--runtime=runc', '--cgroup-manager=cgroupfs'] : []);
  let init = false;
  for (const p of ['/usr/libexec/podman/catatonit', '/usr/bin/catatonit', '/usr/libexec/catatonit/catatonit', '/usr/local/libexec/podman/catatonit']) {
    if (await executable(p)) init = true;
  }
  return { bin, globalArgs, init };
}

/**
 * podman derives a local image name from an `oci:<dir>` path, which fails for
 * paths with components such as ".cache" or ".trainyard". A symlink with a
 * plain name (keyed by dir, ref and digest, so a changed image gets a new
 * name) avoids that. Other references are returned unchanged.
 */
export async function runnableImage(ref: string, digest: string): Promise<string> {
  const m = /^oci:(\/[^:]+)(?::(.+))?$/.exec(ref);
  if (!m) return ref;
  const [, dir, tag] = m;
  const key = createHash('sha256').update(`${dir}\0${tag ?? ''}\0${digest}`).digest('hex').slice(0, 24);
  const linkDir = join(tmpdir(), 'trainyard-oci');
  await mkdir(linkDir, { recursive: true });
  const link = join(linkDir, key);
  let current: string | null = null;
  try {
    current = await readlink(link);
  } catch {
    /* absent */
  }
  if (current !== dir) {
    const tmp = `${link}.${process.pid}.${randomBytes(6).toString('hex')}`;
    await symlink(dir, tmp);
    await rename(tmp, link);
  }
  return tag ? `oci:${link}:${tag}` : `oci:${link}`;
}

export function prepareContainerRun(spec: RunSpec, runDir: string, image: string, setup: PodmanSetup): Prepared & { cleanup: string[] } {
  const name = containerName(spec.id);
  const env: Record<string, string> = {
    HOME: '/trainyard/home',
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONPATH: '/opt/trainyard/python',
    ...contractEnv(spec, '/trainyard/output'),
  };
  const memBytes = parseQuantity(spec.hardware.memory);
  const argv = [
    setup.bin,
    ...setup.globalArgs,
    'run',
    '--rm',
    '-q',
    '--name',
    name,
    '--log-driver=passthrough',
    ...(setup.init ? ['--init'] : []),
    `--cpus=${spec.hardware.cpu}`,
    `--memory=${memBytes}b`,
    '--ulimit',
    'nofile=1024:1024',
    '--ulimit',
    'nproc=4096:4096',
    '-v',
    `${join(runDir, 'output')}:/trainyard/output`,
    '-v',
    `${join(runDir, 'home')}:/trainyard/home`,
    '--workdir',
    '/app',
    ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    // a registry on this machine is plain http (podman defaults to https)
    ...(/^docker:\/\/(localhost|127\.[0-9.]+|\[::1\])(:\d+)?\//.test(image) ? ['--tls-verify=false'] : []),
    '--entrypoint',
    '/bin/sh',
    image,
    '-c',
    spec.command,
  ];
  // the podman client's own environment: enough to find its config and storage, nothing more
  // (the container's environment is only what --env gives it). TRAINYARD_RUN_ID marks the
  // client and wrapper as this run's processes (see proc.ts).
  const clientEnv: Record<string, string> = { PATH: process.env.PATH ?? SYSTEM_PATH, TRAINYARD_RUN_ID: spec.id };
  for (const k of ['HOME', 'XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'TMPDIR', 'CONTAINERS_CONF', 'CONTAINERS_STORAGE_CONF', 'CONTAINERS_REGISTRIES_CONF']) {
    const v = process.env[k];
    if (v !== undefined) clientEnv[k] = v;
  }
  return {
    argv,
    env: clientEnv,
    cwd: runDir,
    cleanup: [setup.bin, ...setup.globalArgs, 'rm', '-f', '-t', '0', name],
  };
}

/** Runs a podman command to completion, ignoring its output; resolves with its exit code. */
export function podmanQuiet(setup: PodmanSetup, args: string[], timeoutMs = 60_000): Promise<number | null> {
  return new Promise((resolve) => {
    execFile(setup.bin, [...setup.globalArgs, ...args], { timeout: timeoutMs }, (err) => {
      resolve(err ? (typeof err.code === 'number' ? err.code : null) : 0);
    });
  });
}

/** `podman stop` with a grace period, in the background: TERM to the container's init, KILL after `graceSeconds`. */
export function podmanStop(setup: PodmanSetup, name: string, graceSeconds: number): void {
  const child = spawn(setup.bin, [...setup.globalArgs, 'stop', '-t', String(graceSeconds), name], { stdio: 'ignore' });
  child.on('error', () => {});
}
