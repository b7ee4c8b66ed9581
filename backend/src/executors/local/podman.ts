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
 *  - `-q`: no pull progress in the run's stderr;
 *  - `--security-opt no-new-privileges --cap-drop ALL`: the run's code gets no
 *    capabilities and cannot gain any (setuid files in an image do nothing).
 * Environment (container paths): HOME=/trainyard/home and
 * TRAINYARD_OUTPUT_DIR=/trainyard/output, both bind-mounted from the run dir (and
 * TRAINYARD_INPUT_DIR=/trainyard/input, read-only, for a run launched with fromRun),
 * PYTHONPATH=/opt/trainyard/python, cwd /app; PATH is the image's own.
 */
import { join } from 'node:path';
import type { RunSpec } from '../executor';
import { parseQuantity } from './admission';
import { contractEnv, type Prepared } from './process-sandbox';
import { HARDENING_FLAGS, SYSTEM_PATH, type PodmanSetup, type RunnableImage } from '../../runtime/podman';

export function containerName(runId: string): string {
  return `trainyard-${runId}`;
}

export function prepareContainerRun(spec: RunSpec, runDir: string, runnable: RunnableImage, setup: PodmanSetup): Prepared & { cleanup: string[] } {
  const image = runnable.image;
  const name = containerName(spec.id);
  const env: Record<string, string> = {
    HOME: '/trainyard/home',
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONPATH: '/opt/trainyard/python',
    ...contractEnv(spec, '/trainyard/output', '/trainyard/input'),
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
    ...HARDENING_FLAGS,
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
    ...(spec.inputRunId ? ['-v', `${join(runDir, 'input')}:/trainyard/input:ro`] : []),
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
    cwd: runnable.cwd ?? runDir, // an `oci:` image is named relative to its link folder (runtime/podman.ts)
    cleanup: [setup.bin, ...setup.globalArgs, 'rm', '-f', '-t', '0', name],
  };
}
