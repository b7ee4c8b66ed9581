/** `trainyard run ID`: everything about one run, including params, reason and estimated vs actual cost. */
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { isJson, printJson, withJson } from '../kit';
import { bytes, details, duration, formatParams, money, relative, statusText } from '../output';
import { isFinal, runDuration } from '../run-format';

export function register(program: Command, deps: CliDeps): void {
  withJson(program.command('run').description('show one run').argument('<id>', 'run id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      const r = await deps.client().getRun(id);
      if (isJson(cmd)) return printJson(deps, r);
      const now = deps.now();
      const at = (iso: string | null) => (iso ? `${iso} (${relative(iso, now)})` : '-');
      const pairs: Array<[string, string]> = [
        ['id', r.id],
        ['model', `${r.model}:${r.version}`],
        ['entrypoint', `${r.entrypoint}  (${r.command})`],
        ['params', Object.keys(r.params).length ? formatParams(r.params) : '(none)'],
        ['status', statusText(r.status, deps.st) + (r.exitCode !== null ? `  (exit code ${r.exitCode})` : '')],
        ['reason', r.reason ?? '-'],
        ['hardware', `${r.hardware}  (${money(r.pricePerHour)}/h, executor ${r.executor})`],
        ['created', `${at(r.createdAt)} by ${r.createdBy}`],
        ['started', at(r.startedAt)],
        ['finished', at(r.finishedAt)],
        ['duration', `${runDuration(r, now)}${r.startedAt && !r.finishedAt ? ' so far' : ''} (max ${duration(r.maxDurationSeconds * 1000)})`],
        ['cost', `estimated ${money(r.estimatedCost)}, actual ${r.actualCost !== null ? money(r.actualCost) : isFinal(r.status) ? '-' : 'not final yet'}`],
      ];
      if (r.sweepId) pairs.push(['sweep', `${r.sweepId} (point ${r.sweepIndex ?? '?'})`]);
      if (r.scheduleId) pairs.push(['schedule', r.scheduleId]);
      if (r.inputRunId) pairs.push(['input', `the artifacts of ${r.inputRunId}`]);
      if (isFinal(r.status)) {
        const a = await deps.client().listArtifacts(r.id);
        pairs.push(['artifacts', a.files.length ? `${a.files.length} file${a.files.length === 1 ? '' : 's'}, ${bytes(a.totalBytes)}  (trainyard artifacts ${r.id})` : a.state === 'failed' ? (a.note ?? 'could not be kept') : 'none']);
      }
      for (const l of details(pairs, deps.st)) deps.out(l);
      if (!isFinal(r.status)) deps.out(deps.st.dim(`follow it: trainyard logs ${r.id} -f`));
    },
  );
}
