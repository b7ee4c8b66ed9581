/** `trainyard models`: every model with its latest version and counts. */
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { isJson, printJson, withJson } from '../kit';
import { relative, table } from '../output';

export function register(program: Command, deps: CliDeps): void {
  withJson(program.command('models').description('list models')).action(async (_opts: unknown, cmd: Command) => {
    const res = await deps.client().listModels();
    if (isJson(cmd)) return printJson(deps, res);
    if (res.items.length === 0) return deps.out('no models yet; save one with `trainyard save PATH --model NAME`');
    const now = deps.now();
    const rows = res.items.map((m) => [
      m.name,
      m.team ?? '-',
      m.latestVersion ?? '-',
      String(m.versionCount),
      String(m.runCount),
      relative(m.createdAt, now),
      m.createdBy,
    ]);
    for (const l of table(['name', 'team', 'latest version', 'versions', 'runs', 'created', 'by'], rows, deps.st)) deps.out(l);
  });
}
