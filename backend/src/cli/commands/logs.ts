/**
 * `trainyard logs ID [-f]`: the run's archived log. stdout and system lines go
 * to stdout, the program's stderr lines to stderr. With -f it follows the
 * stream (client.followLogs) until the run is final, then says how it ended.
 */
import type { Command } from 'commander';
import type { LogLine, LogPage } from '@trainyard/shared';
import type { CliDeps } from '../deps';
import { isJson, printJson, withJson } from '../kit';
import { statusText } from '../output';
import { runDuration } from '../run-format';

const PAGE = 5000;

function printLine(deps: CliDeps, line: LogLine): void {
  if (line.stream === 'stderr') deps.err(line.text);
  else if (line.stream === 'system') deps.out(deps.st.dim(line.text));
  else deps.out(line.text);
}

export function register(program: Command, deps: CliDeps): void {
  withJson(
    program
      .command('logs')
      .description("print a run's log")
      .argument('<id>', 'run id')
      .option('-f, --follow', 'keep printing new lines until the run is final'),
  ).action(async (id: string, opts: { follow?: boolean }, cmd: Command) => {
    const client = deps.client();
    const json = isJson(cmd);
    if (opts.follow) {
      for await (const line of client.followLogs(id)) {
        if (json) deps.out(JSON.stringify(line));
        else printLine(deps, line);
      }
      if (!json) {
        const run = await client.getRun(id);
        deps.err(deps.st.dim(`-- ${run.id} ${statusText(run.status, deps.st)} after ${runDuration(run, deps.now())}${run.reason ? `: ${run.reason}` : ''}`));
      }
      return;
    }
    const all: LogLine[] = [];
    let after = -1;
    let last: LogPage | undefined;
    for (;;) {
      last = await client.getLogs(id, { after, limit: PAGE });
      if (json) all.push(...last.lines);
      else for (const line of last.lines) printLine(deps, line);
      if (last.lines.length === 0) break;
      after = last.lines[last.lines.length - 1].seq;
    }
    if (json) printJson(deps, { lines: all, nextSeq: last.nextSeq, done: last.done });
  });
}
