/** `trainyard schedules` lists the cron schedules; `trainyard schedules delete ID` removes one. */
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { isJson, printJson, withJson } from '../kit';
import { formatParams, relative, table } from '../output';

export function register(program: Command, deps: CliDeps): void {
  const schedules = withJson(program.command('schedules').description('list schedules (or: schedules delete ID)'));
  schedules.action(async (_opts: unknown, cmd: Command) => {
    const res = await deps.client().listSchedules();
    if (isJson(cmd)) return printJson(deps, res);
    if (res.items.length === 0) return deps.out('no schedules; create one with `trainyard train MODEL --schedule "0 3 * * *"`');
    const now = deps.now();
    const rows = res.items.map((s) => {
      const r = s.request;
      const what = [r.model, r.entrypoint ?? 'train', r.hardware ?? '', r.params ? formatParams(r.params) : '']
        .filter(Boolean)
        .join(' ');
      return [
        s.id,
        s.cron,
        s.timezone,
        s.enabled ? (s.nextFireAt ? `${s.nextFireAt} (${relative(s.nextFireAt, now)})` : '-') : 'disabled',
        relative(s.lastFireAt, now),
        s.versionPolicy === 'pinned' && r.version ? `${r.version} (pinned)` : 'latest at fire',
        what + (r.sweep ? ' (sweep)' : ''),
        s.createdBy,
      ];
    });
    for (const l of table(['id', 'cron', 'timezone', 'next fire', 'last fire', 'version', 'launches', 'by'], rows, deps.st)) deps.out(l);
    for (const s of res.items) if (s.lastError) deps.out(deps.st.red(`${s.id}: the last fire launched nothing: ${s.lastError}`));
  });
  withJson(schedules.command('delete').description('delete a schedule').argument('<id>', 'schedule id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      const res = await deps.client().deleteSchedule(id);
      if (isJson(cmd)) return printJson(deps, res);
      deps.out(`deleted schedule ${res.id}; runs it already launched are kept`);
    },
  );
}
