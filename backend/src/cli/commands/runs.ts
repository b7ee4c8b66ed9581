/** `trainyard runs`: a table of runs, filtered by model, status or sweep. */
import type { Command } from 'commander';
import type { RunQuery, RunStatus } from '@trainyard/shared';
import type { CliDeps } from '../deps';
import { UsageError } from '../errors';
import { parseIntOption, parseModelName } from '../args';
import { isJson, printJson, withJson } from '../kit';
import { relative, statusText, table, truncate } from '../output';
import { runCost, runDuration } from '../run-format';

const STATUSES: RunStatus[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled'];

export function parseStatus(raw: string): RunStatus {
  const s = STATUSES.find((x) => x.toLowerCase() === raw.toLowerCase());
  if (!s) throw new UsageError(`--status expects one of ${STATUSES.join(', ')} (got "${raw}")`);
  return s;
}

interface Opts {
  model?: string;
  status?: string;
  sweep?: string;
  limit?: string;
  mine?: boolean;
}

export function register(program: Command, deps: CliDeps): void {
  withJson(
    program
      .command('runs')
      .description('list runs, newest first')
      .option('--model <name>', 'only runs of this model')
      .option('--status <status>', `only runs in this status (${STATUSES.join(', ')})`)
      .option('--sweep <id>', 'only the runs of this sweep')
      .option('--limit <n>', 'at most this many runs (1-1000)')
      .option('--mine', 'only the runs I launched (the person `trainyard whoami` names)'),
  ).action(async (opts: Opts, cmd: Command) => {
    const query: RunQuery = {};
    if (opts.model !== undefined) query.model = parseModelName(opts.model);
    if (opts.status !== undefined) query.status = parseStatus(opts.status);
    if (opts.sweep !== undefined) query.sweep = opts.sweep;
    const limit = parseIntOption('--limit', opts.limit, 1, 1000);
    if (limit !== undefined) query.limit = limit;
    if (opts.mine) query.createdBy = (await deps.client().me()).user;
    const page = await deps.client().listRuns(query);
    if (isJson(cmd)) return printJson(deps, page);
    if (page.items.length === 0) return deps.out('no runs match; launch one with `trainyard train MODEL`');
    const now = deps.now();
    const rows = page.items.map((r) => [
      r.id,
      r.model,
      truncate(r.version, 24),
      r.entrypoint,
      statusText(r.status, deps.st),
      r.createdBy,
      r.hardware,
      relative(r.startedAt, now),
      runDuration(r, now),
      runCost(r),
      truncate(r.reason ?? '', 60),
    ]);
    const headers = ['id', 'model', 'version', 'entrypoint', 'status', 'by', 'hardware', 'started', 'duration', 'cost', 'reason'];
    for (const l of table(headers, rows, deps.st)) deps.out(l);
    if (page.nextCursor) deps.out(deps.st.dim(`(more runs exist; raise --limit or filter with --model/--status)`));
  });
}
