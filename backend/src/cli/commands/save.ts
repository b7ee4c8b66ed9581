/**
 * `trainyard save [PATH] --model NAME`: snapshot a workspace into a new
 * version (saveWorkspace uploads only the files the backend lacks). Progress
 * goes to stderr so stdout carries just the result.
 */
import { join, resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { CliError, UsageError } from '../errors';
import { collect, parseEntrypoints, parseModelName } from '../args';
import { isJson, printJson, withJson } from '../kit';
import { bytes, details, duration } from '../output';
import { transferSummary } from '@trainyard/shared/snapshot/transfer-summary';

interface SaveOpts {
  model?: string;
  version?: string;
  base?: string;
  entrypoint?: string[];
  python?: string;
  strategy?: string;
  selfTest?: string;
}

const VERSION_LABEL = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

export function register(program: Command, deps: CliDeps): void {
  withJson(
    program
      .command('save')
      .description('save a workspace as a new version of a model')
      .argument('[path]', 'workspace folder', '.')
      .option('--model <name>', 'model to save into (created if new)')
      .option('--version <label>', 'version label (default: the git SHA, +dirty.<hash> when there are changes)')
      .option('--base <image>', 'base image (default: chosen by the backend)')
      .option('--entrypoint <name=command>', 'an entrypoint, e.g. "train=python train.py" (repeatable)', collect)
      .option('--python <interpreter>', 'the Python whose installed distributions go into the dependency layer (needs --base)')
      .option('--strategy <copy|install>', 'how dependencies get into the image: copy (default) or install')
      .option('--self-test <command>', 'a smoke command run inside the new image before the version is recorded, e.g. \'python -c "import model; model.smoke()"\''),
  ).action(async (path: string, opts: SaveOpts, cmd: Command) => {
    const dir = resolve(path);
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      /* reported below */
    }
    if (!isDir) throw new CliError(`${dir} is not a folder; save expects the workspace folder`);
    // the editors' remembered answers (.trainyard/model.json) fill in what the flags leave out;
    // its reader (and the schema it checks with) loads only when the file is there
    const MODEL_FILE = '.trainyard/model.json';
    const remembered = existsSync(join(dir, MODEL_FILE))
      ? await (await import('@trainyard/shared/workspace/model-file')).readWorkspaceModel(dir).catch((err: Error) => { throw new CliError(err.message); })
      : null;
    opts.model ??= remembered?.model;
    opts.base ??= remembered?.baseImage;
    opts.selfTest ??= remembered?.selfTest;
    opts.strategy ??= remembered?.strategy;
    if (!opts.model) throw new UsageError(`save needs --model NAME, e.g. trainyard save . --model eta-correction (or a ${MODEL_FILE} in the workspace)`);
    const model = parseModelName(opts.model);
    if (opts.version !== undefined && !VERSION_LABEL.test(opts.version)) {
      throw new UsageError(`--version expects letters, digits, ".", "_", "+", "-" starting with a letter or digit (got "${opts.version}")`);
    }
    if (opts.strategy !== undefined && opts.strategy !== 'copy' && opts.strategy !== 'install') {
      throw new UsageError(`--strategy expects copy or install (got "${opts.strategy}")`);
    }
    if (opts.python !== undefined && opts.base === undefined) throw new UsageError('--python needs --base IMAGE: the dependency layer goes on a base image');
    const entrypoints = parseEntrypoints(opts.entrypoint ?? []) ?? remembered?.entrypoints;
    const json = isJson(cmd);
    const { saveWorkspace } = await import('@trainyard/shared/snapshot/save');
    const res = await saveWorkspace(deps.client(), {
      dir,
      model,
      ...(opts.version !== undefined ? { version: opts.version } : {}),
      ...(opts.base !== undefined ? { baseImage: opts.base } : {}),
      ...(entrypoints ? { entrypoints } : {}),
      ...(opts.python !== undefined ? { python: opts.python } : {}),
      ...(opts.strategy !== undefined ? { strategy: opts.strategy as 'copy' | 'install' } : {}),
      ...(opts.selfTest !== undefined ? { selfTest: opts.selfTest } : {}),
      onProgress: json ? undefined : (msg: string) => deps.err(deps.st.dim(msg)),
    });
    if (json) return printJson(deps, res);
    const v = res.version;
    deps.out(`saved ${deps.st.bold(`${v.model}:${v.label}`)}`);
    for (const l of details([
      ['digest', v.digest],
      ['image', v.imageRef],
      ['entrypoints', Object.entries(v.entrypoints).map(([k, c]) => `${k}="${c}"`).join(' ')],
      ['files', `${transferSummary(res)}${res.uploadedFiles ? ` (${bytes(res.uploadedBytes)})` : ''}`],
      ['time', duration(res.durationMs)],
    ], deps.st)) deps.out(`  ${l}`);
    deps.out(deps.st.dim(`next: trainyard train ${v.model}:${v.label}`));
  });
}
