/**
 * The process sandbox: how a run executes without a container engine
 * (versions built on the empty base, or when podman is not usable).
 *
 * Layout of the run dir: root/ (the version's filesystem from `materialize`:
 * code in root/app, the trainyard helper in root/opt/trainyard/python),
 * home/ (HOME), output/ (TRAINYARD_OUTPUT_DIR), input/ (TRAINYARD_INPUT_DIR, the artifacts
 * of the training run it reads, read-only), bin/ (python, python3).
 *
 * What it does: cwd root/app; a scrubbed environment (only PATH, HOME, LANG,
 * PYTHONUNBUFFERED, PYTHONPATH and the TRAINYARD_* variables; nothing of the
 * backend's own environment such as tokens); `python`/`python3` on PATH are
 * tiny exec scripts for the configured host Python (scripts rather than
 * symlinks, so a virtualenv's interpreter keeps its venv); rlimits: address
 * space (RLIMIT_AS = 2 x the profile's memory + 1 GiB, since a virtual limit
 * equal to the memory would break allocators and thread stacks), 4096 open
 * files, no core dumps; its own session, so the whole process tree can be
 * signalled; the max duration via the wrapper's `timeout`.
 *
 * What it does NOT isolate: it runs as the backend's user, sees the whole
 * filesystem (can read and write anything that user can), the network, and
 * other processes; CPU is not pinned or throttled (the profile's cores are
 * only admission bookkeeping) and memory is capped only as address space,
 * not as resident memory. It protects against accidents, not against hostile
 * code. Use podman (a base image) for real isolation.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunSpec } from '../executor';
import { parseQuantity } from './admission';
import { shQuote } from './wrapper';
import { SYSTEM_PATH } from '../../runtime/podman';

const execFileP = promisify(execFile);


export interface Prepared {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

/** The TRAINYARD_* contract variables, with paths as the run sees them. */
export function contractEnv(spec: RunSpec, outputDir: string, inputDir: string): Record<string, string> {
  return {
    TRAINYARD_RUN_ID: spec.id,
    TRAINYARD_PARAMS: JSON.stringify(spec.params),
    TRAINYARD_OUTPUT_DIR: outputDir,
    ...(spec.inputRunId ? { TRAINYARD_INPUT_DIR: inputDir, TRAINYARD_INPUT_RUN_ID: spec.inputRunId } : {}),
    TRAINYARD_MODEL: spec.model,
    TRAINYARD_VERSION: spec.version,
    TRAINYARD_ENTRYPOINT: spec.entrypoint,
  };
}

/**
 * The absolute interpreter behind config.python ("python3", a path, a venv's
 * python), as Python itself reports it: sys.executable keeps a venv's path
 * and resolves shims such as pyenv's.
 */
export async function resolvePython(python: string): Promise<string> {
  try {
    const { stdout } = await execFileP(python, ['-c', 'import sys; print(sys.executable)'], { timeout: 20_000 });
    const exe = stdout.trim();
    if (!exe.startsWith('/')) throw new Error(`it reported no absolute sys.executable (${JSON.stringify(exe)})`);
    return exe;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? 'not found on PATH' : (e.stderr?.trim().split('\n').pop() ?? e.message);
    throw new Error(`the configured python (executor.local.python = ${JSON.stringify(python)}) cannot be run: ${why}`);
  }
}

export function addressSpaceLimitKb(memory: string): number {
  const bytes = parseQuantity(memory);
  return Math.ceil((2 * bytes + 1024 ** 3) / 1024);
}

// $1 address-space limit in KiB, $2 the entrypoint command. ulimit failures (a lower hard limit) are ignored.
const LIMITS = 'ulimit -c 0 2>/dev/null; ulimit -n 4096 2>/dev/null; ulimit -v "$1" 2>/dev/null; exec /bin/sh -c "$2"';

export async function prepareProcessRun(
  spec: RunSpec,
  runDir: string,
  materialize: (spec: RunSpec, dest: string) => Promise<void>,
  python: string,
): Promise<Prepared> {
  const root = join(runDir, 'root');
  await rm(root, { recursive: true, force: true }); // a half-materialized root from an interrupted attempt
  await mkdir(root, { recursive: true });
  await materialize(spec, root);
  const app = join(root, 'app');
  const bin = join(runDir, 'bin');
  await Promise.all([mkdir(app, { recursive: true }), mkdir(join(runDir, 'home'), { recursive: true }), mkdir(bin, { recursive: true })]);
  const shim = `#!/bin/sh\nexec ${shQuote(python)} "$@"\n`;
  for (const name of ['python', 'python3']) {
    await writeFile(join(bin, name), shim);
    await chmod(join(bin, name), 0o755);
  }
  const env: Record<string, string> = {
    PATH: `${bin}:${SYSTEM_PATH}`,
    HOME: join(runDir, 'home'),
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONPATH: join(root, 'opt', 'trainyard', 'python'),
    ...contractEnv(spec, join(runDir, 'output'), join(runDir, 'input')),
  };
  return {
    argv: ['/bin/sh', '-c', LIMITS, 'trainyard-run', String(addressSpaceLimitKb(spec.hardware.memory)), spec.command],
    env,
    cwd: app,
  };
}
