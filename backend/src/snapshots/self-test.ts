/**
 * The model self-test: an optional smoke command (CreateSnapshot.selfTest,
 * `trainyard save --self-test '…'`) run against a newly built image BEFORE the
 * version is recorded. A failure (non-zero exit, timeout, or no way to run it)
 * leaves no version and no tag; the snapshot is marked failed with the last 50
 * lines of output in the error.
 *
 * It runs the way a run of the version would run on the local executor (same
 * decision as LocalExecutor.modeFor):
 *  - built on a base image and podman is usable (executor.local.podman auto or
 *    always): `podman run` of the image, `sh -c <command>` in /app, with
 *    `--network=none` (a smoke test must not depend on the network), the
 *    executor's flags and contract environment (TRAINYARD_PARAMS={},
 *    TRAINYARD_OUTPUT_DIR a scratch dir) plus TRAINYARD_SELF_TEST=1;
 *  - built on the empty base (or podman "never", or "auto" without podman):
 *    the image is unpacked into a scratch dir and the command runs in the
 *    process sandbox (process-sandbox.ts) with the configured host Python
 *    (executor.local.python) — exactly what a run would get;
 *  - podman "always" without podman: refused, saying so.
 * An OCI-layout store hands podman a view of the (untagged) manifest; a
 * registry store pushes the manifest by digest (no tag) and podman pulls
 * repo@digest.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppContext } from '../context';
import type { RunSpec } from '../executors/executor';
import { prepareProcessRun, resolvePython, contractEnv } from '../executors/local/process-sandbox';
import { containerId, findPodman, layoutView, runCaptured, runContainer, tlsFlags, type ProcessResult, type RunnableImage } from '../images/container';
import { OciLayoutStore } from '../images/oci-layout';
import { RegistryStore } from '../images/registry-store';
import { unpackImage } from '../images/unpack';

export class SelfTestError extends Error {
  constructor(
    message: string,
    readonly output: string | null,
  ) {
    super(message);
  }
}

export interface SelfTestOptions {
  /** podman global flags (default: detectPodman's) */
  podmanArgs?: string[];
  /** default 10 minutes */
  timeoutMs?: number;
}

export interface SelfTestInput {
  command: string;
  model: string;
  label: string;
  snapshotId: string;
  hasBase: boolean;
  manifest: { digest: string; mediaType: string; bytes: Buffer };
}

export interface SelfTestResult {
  mode: 'podman' | 'process';
  durationMs: number;
  output: string;
}

const LINES = 50;

function specFor(input: SelfTestInput, imageRef: string): RunSpec {
  return {
    id: `selftest-${input.snapshotId}`,
    model: input.model,
    version: input.label,
    entrypoint: 'self-test',
    command: input.command,
    params: {},
    hardware: { name: 'self-test', cpu: 1, memory: '4Gi', pricePerHour: 0 } as RunSpec['hardware'],
    maxDurationSeconds: 600,
    sweepId: null,
    parallelism: null,
    image: { ref: imageRef, digest: input.manifest.digest, baseImage: input.hasBase ? 'base' : null },
  };
}

async function podmanImage(ctx: AppContext, input: SelfTestInput): Promise<RunnableImage> {
  const m = input.manifest;
  if (ctx.images instanceof OciLayoutStore) {
    return layoutView(join(ctx.config.home, 'oci-views'), join(ctx.images.dir, 'blobs'), { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length });
  }
  if (ctx.images instanceof RegistryStore) {
    await ctx.images.putUntagged(input.model, m.bytes, m.mediaType);
    return { image: `docker://${ctx.images.location}/${input.model}@${m.digest}`, cwd: null };
  }
  throw new SelfTestError(`the self-test cannot hand images from ${ctx.images.location} to podman`, null);
}

export async function runSelfTest(ctx: AppContext, opts: SelfTestOptions, input: SelfTestInput): Promise<SelfTestResult> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const want = ctx.config.executor.local.podman;
  const setup = input.hasBase && want !== 'never' ? await findPodman(opts.podmanArgs) : null;
  if (input.hasBase && want === 'always' && !setup) {
    throw new SelfTestError('the self-test runs the image with podman (executor.local.podman is "always"), but podman was not found on PATH; install podman and runc, or save without --self-test', null);
  }
  let res: ProcessResult;
  let mode: SelfTestResult['mode'];
  if (setup) {
    mode = 'podman';
    const { image, cwd } = await podmanImage(ctx, input);
    const spec = specFor(input, image);
    const env: Record<string, string> = {
      HOME: '/tmp',
      LANG: 'C.UTF-8',
      PYTHONUNBUFFERED: '1',
      PYTHONPATH: '/opt/trainyard/python',
      ...contractEnv(spec, '/tmp', '/tmp/trainyard-input'),
      TRAINYARD_SELF_TEST: '1',
    };
    const args = ['--network=none', '--workdir', '/app', ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]), ...tlsFlags(image), '--entrypoint', '/bin/sh', image, '-c', input.command];
    res = await runContainer(setup, containerId('trainyard-selftest'), args, { timeoutMs, lines: LINES, cwd });
  } else {
    mode = 'process';
    let python: string;
    try {
      python = await resolvePython(ctx.config.executor.local.python);
    } catch (err) {
      throw new SelfTestError(`the self-test of a version without a base image runs with the host Python, but ${(err as Error).message}`, null);
    }
    const dir = await mkdtemp(join(tmpdir(), 'trainyard-selftest-'));
    try {
      const spec = specFor(input, input.manifest.digest);
      const prepared = await prepareProcessRun(spec, dir, (_s, dest) => unpackImage(ctx.images, input.model, input.manifest.digest, dest), python);
      res = await runCaptured(prepared.argv, { env: { ...prepared.env, TRAINYARD_SELF_TEST: '1' }, cwd: prepared.cwd, timeoutMs, lines: LINES });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const durationMs = Date.now() - started;
  if (res.timedOut || res.code !== 0) {
    const why = res.timedOut ? `did not finish within ${Math.round(timeoutMs / 1000)} s` : `exited with code ${res.code}`;
    const where = mode === 'podman' ? 'inside the new image (podman)' : 'with the host Python (no base image)';
    throw new SelfTestError(
      `self-test failed: \`${input.command}\` ${why} ${where}; no version was recorded. Fix the code (or the command) and save again. Last ${LINES} lines of output:\n${res.tail}`,
      res.tail,
    );
  }
  return { mode, durationMs, output: res.tail };
}
