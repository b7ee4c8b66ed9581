/**
 * `trainyard train MODEL[:VERSION]`: one run, a sweep (repeated --sweep flags
 * make a grid) or a schedule. The flags become one LaunchRequest; --estimate
 * prices it without launching. Parsing lives in buildLaunchRequest so it is
 * tested without a server.
 */
import type { Command } from 'commander';
import type { Estimate, LaunchRequest, LaunchResult } from '@trainyard/shared';
import type { CliDeps } from '../deps';
import { UsageError } from '../errors';
import { collect, parseEntrypointName, parseIntOption, parseModelRef, parseParams, parseSweeps } from '../args';
import { isJson, printJson, withJson } from '../kit';
import { duration, formatParams, money, relative, statusText } from '../output';

export interface TrainOpts {
  entrypoint?: string;
  hardware?: string;
  param?: string[];
  sweep?: string[];
  parallelism?: string;
  schedule?: string;
  timezone?: string;
  pin?: boolean;
  maxDuration?: string;
  estimate?: boolean;
  allowLargeSweep?: boolean;
  idempotencyKey?: string;
  fromRun?: string;
}

export function buildLaunchRequest(ref: string, opts: TrainOpts): LaunchRequest {
  const req: LaunchRequest = { ...parseModelRef(ref) };
  const entrypoint = parseEntrypointName(opts.entrypoint);
  if (entrypoint) req.entrypoint = entrypoint;
  if (opts.hardware !== undefined) req.hardware = opts.hardware;
  const params = parseParams(opts.param ?? []);
  if (Object.keys(params).length) req.params = params;
  const sweep = parseSweeps(opts.sweep ?? []);
  if (sweep) {
    const both = Object.keys(sweep).find((k) => k in params);
    if (both) throw new UsageError(`${both} is given both as --param and --sweep; use one`);
    req.sweep = sweep;
  }
  const parallelism = parseIntOption('--parallelism', opts.parallelism, 1, 10000);
  if (parallelism !== undefined) req.parallelism = parallelism;
  const maxDuration = parseIntOption('--max-duration', opts.maxDuration, 1, 10080);
  if (maxDuration !== undefined) req.maxDurationMinutes = maxDuration;
  if (opts.schedule !== undefined) {
    const fields = opts.schedule.trim().split(/\s+/).length;
    if (fields < 5 || fields > 6) {
      throw new UsageError(`--schedule expects a cron expression of 5 or 6 fields, e.g. "0 3 * * *" (got "${opts.schedule}")`);
    }
    req.schedule = opts.schedule.trim();
  }
  if (opts.pin) {
    if (req.schedule === undefined) throw new UsageError('--pin only applies with --schedule');
    req.versionPolicy = 'pinned';
  }
  if (opts.timezone !== undefined) {
    if (req.schedule === undefined) throw new UsageError('--timezone only applies with --schedule');
    req.timezone = opts.timezone;
  }
  if (opts.fromRun !== undefined) {
    if (opts.fromRun !== 'latest' && !/^[a-z]{1,4}_[0-9a-z]{10,40}$/.test(opts.fromRun)) {
      throw new UsageError(`--from-run expects a run id (like run_01j9...) or "latest" (got "${opts.fromRun}")`);
    }
    req.fromRun = opts.fromRun;
  }
  if (opts.allowLargeSweep) req.allowLargeSweep = true;
  if (opts.idempotencyKey !== undefined) {
    if (opts.idempotencyKey === '' || opts.idempotencyKey.length > 128) throw new UsageError('--idempotency-key expects 1 to 128 characters');
    req.idempotencyKey = opts.idempotencyKey;
  }
  return req;
}

export function formatEstimate(e: Estimate): string[] {
  const basis =
    e.basis === 'median-of-past-runs'
      ? `median duration of ${e.pastRuns} past run${e.pastRuns === 1 ? '' : 's'}`
      : 'the max duration (no finished runs to learn from yet)';
  return [
    `${e.runs} run${e.runs === 1 ? '' : 's'} × ${money(e.pricePerHour)}/h (${e.hardware}) × ${duration(e.expectedSecondsPerRun * 1000)} expected = ${money(e.totalCost)}`,
    `basis: ${basis}`,
  ];
}

function printLaunch(deps: CliDeps, req: LaunchRequest, res: LaunchResult): void {
  const { st } = deps;
  const now = deps.now();
  const first = res.runs[0];
  const target = first ? `${first.model}:${first.version} (${first.entrypoint}) on ${first.hardware}` : req.model;
  if (res.schedule) {
    const s = res.schedule;
    const next = s.nextFireAt ? `${s.nextFireAt} (${relative(s.nextFireAt, now)})` : 'never';
    deps.out(`created schedule ${st.bold(s.id)}: "${s.cron}" (${s.timezone}), next fire ${next}`);
    deps.out(s.versionPolicy === 'pinned' ? `each fire runs version ${s.request.version} (pinned)` : 'each fire runs the latest version at fire time (pin one with MODEL:VERSION or --pin)');
  }
  if (res.runs.length) deps.out(`launched ${res.runs.length} run${res.runs.length === 1 ? '' : 's'} of ${target}`);
  if (res.sweep) deps.out(`sweep ${st.bold(res.sweep.id)}: ${res.sweep.size} points, parallelism ${res.sweep.parallelism}`);
  for (const r of res.runs) {
    deps.out(`  ${r.id}  ${statusText(r.status, st)}${Object.keys(r.params).length ? `  ${formatParams(r.params)}` : ''}`);
  }
  deps.out(`estimate${res.schedule ? ' per fire' : ''}: ${formatEstimate(res.estimate).join('; ')}`);
  if (res.schedule) deps.out(st.dim(`see: trainyard schedules   stop: trainyard schedules delete ${res.schedule.id}`));
  if (res.sweep) deps.out(st.dim(`see: trainyard runs --sweep ${res.sweep.id}`));
  if (first) deps.out(st.dim(`follow: trainyard logs ${first.id} -f`));
}

/** the flags of a launch (train and predict share them) */
export function launchOptions(cmd: Command, entrypoint: 'train' | 'predict'): Command {
  return withJson(
    cmd
      .option('--entrypoint <name>', `entrypoint to run (default: ${entrypoint})`)
      .option('--from-run <id|latest>', "a training run whose artifacts the run reads from TRAINYARD_INPUT_DIR (latest: the model's newest succeeded train run)")
      .option('--hardware <profile>', 'hardware profile (see `trainyard hardware`)')
      .option('--param <key=value>', 'a param; numbers and true/false are typed (repeatable)', collect)
      .option('--sweep <key=a,b,c>', 'sweep a param over values; repeat for a grid', collect)
      .option('--parallelism <n>', 'how many sweep runs at once')
      .option('--schedule <cron>', 'launch on a cron schedule instead of now')
      .option('--timezone <tz>', 'time zone of --schedule (default UTC)')
      .option('--pin', 'with --schedule: every fire runs one version (MODEL:VERSION, or the latest now); default: the latest at each fire')
      .option('--max-duration <minutes>', 'stop a run after this many minutes')
      .option('--estimate', 'print the expected cost and launch nothing')
      .option('--allow-large-sweep', 'allow a grid of more than 10,000 points')
      .option('--idempotency-key <key>', 'launch at most once for this key'),
  );
}

export function launchAction(deps: CliDeps, entrypoint: 'train' | 'predict') {
  return async (ref: string, opts: TrainOpts, cmd: Command): Promise<void> => {
    const req = buildLaunchRequest(ref, { ...opts, entrypoint: opts.entrypoint ?? (entrypoint === 'train' ? undefined : entrypoint) });
    const client = deps.client();
    if (opts.estimate) {
      const e = await client.estimate(req);
      if (isJson(cmd)) return printJson(deps, e);
      deps.out(`estimate for ${req.model}${req.version ? `:${req.version}` : ''}: ${formatEstimate(e)[0]}`);
      deps.out(formatEstimate(e)[1]);
      deps.out(`nothing was launched (--estimate)`);
      return;
    }
    const res = await client.launch(req);
    if (isJson(cmd)) return printJson(deps, res);
    printLaunch(deps, req, res);
  };
}

export function register(program: Command, deps: CliDeps): void {
  launchOptions(
    program
      .command('train')
      .description('launch a training run, a sweep or a schedule of a saved model')
      .argument('<model>', 'MODEL or MODEL:VERSION (default: the latest version)'),
    'train',
  ).action(launchAction(deps, 'train'));
}
