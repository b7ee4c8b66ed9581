/** `trainyard metrics ID`: per metric its last value, min, max and count; --json gives the series. */
import type { Command } from 'commander';
import type { MetricSeries } from '@trainyard/shared';
import type { CliDeps } from '../deps';
import { isJson, printJson, withJson } from '../kit';
import { table } from '../output';

export interface MetricSummary {
  name: string;
  last: number;
  lastStep: number | null;
  min: number;
  max: number;
  count: number;
}

export function summarize(series: MetricSeries): MetricSummary | null {
  if (series.points.length === 0) return null;
  const values = series.points.map((p) => p.value);
  const last = series.points[series.points.length - 1];
  return { name: series.name, last: last.value, lastStep: last.step, min: Math.min(...values), max: Math.max(...values), count: values.length };
}

/** six significant digits, no trailing zeros */
export const num = (v: number): string => String(Number(v.toPrecision(6)));

export function register(program: Command, deps: CliDeps): void {
  withJson(program.command('metrics').description("summarize a run's metrics").argument('<id>', 'run id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      const res = await deps.client().getMetrics(id);
      if (isJson(cmd)) return printJson(deps, res);
      const rows = res.series.map(summarize).filter((s): s is MetricSummary => s !== null);
      if (rows.length === 0) {
        return deps.out(`${id} has logged no metrics (print lines like ::trainyard:metric {"name":"rmse","value":0.31})`);
      }
      const cells = rows.map((s) => [s.name, num(s.last), s.lastStep === null ? '-' : String(s.lastStep), num(s.min), num(s.max), String(s.count)]);
      for (const l of table(['metric', 'last', 'step', 'min', 'max', 'count'], cells, deps.st)) deps.out(l);
    },
  );
}
