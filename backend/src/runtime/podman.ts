/**
 * The container runtime this machine has: podman, found on PATH, with the global flags this kind
 * of host needs (`--runtime=runc --cgroup-manager=cgroupfs` when runc is installed: crun fails on
 * hybrid cgroups and there is no systemd), unless the embedder passes its own. Shared by the local
 * executor (executors/local/podman.ts runs versions) and image building (images/container.ts runs
 * self-tests and pip installs), so neither reaches into the other.
 */
import { execFile, spawn } from 'node:child_process';
import { access, constants as fsc, mkdir, readlink, rename, symlink } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { delimiter, join } from 'node:path';

/** the PATH of a process that gets none of ours */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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

/**
 * `podman run` flags for every container Trainyard starts (runs, self-tests, installs): no
 * capabilities, and none to gain through setuid/setgid files in the image.
 */
export const HARDENING_FLAGS = ['--security-opt', 'no-new-privileges', '--cap-drop', 'ALL'];

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

/** the folder of runnableImage()'s symlinks in a data home */
export function podmanLinkDir(home: string): string {
  return join(home, 'podman-oci');
}

/** an image reference for `podman run`, and the folder the podman client must run in (null: any) */
export interface RunnableImage {
  image: string;
  cwd: string | null;
}

/**
 * podman (4.3) derives a local image name from an `oci:<dir>` path, which fails
 * for paths with components such as ".cache" or ".trainyard". A symlink with a
 * plain name (trainyard-<key>, keyed by dir, ref and digest, so a changed image
 * gets a new name) in `linkDir`, named relative to it (`oci:trainyard-<key>:<ref>`,
 * the podman client running in `linkDir`), avoids that. `linkDir` is in the data
 * home (podmanLinkDir; mode 0700), never a shared temp folder where another user
 * could plant a link to an image of theirs. Other references are returned unchanged.
 */
export async function runnableImage(ref: string, digest: string, linkDir: string): Promise<RunnableImage> {
  const m = /^oci:(\/[^:]+)(?::(.+))?$/.exec(ref);
  if (!m) return { image: ref, cwd: null };
  const [, dir, tag] = m;
  const name = `trainyard-${createHash('sha256').update(`${dir}\0${tag ?? ''}\0${digest}`).digest('hex').slice(0, 24)}`;
  await mkdir(linkDir, { recursive: true, mode: 0o700 });
  const link = join(linkDir, name);
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
  return { image: tag ? `oci:${name}:${tag}` : `oci:${name}`, cwd: linkDir };
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
