/** Metric helpers: series -> chart points, final and best values, and which way is better. */
import type { MetricSeries } from '../schemas/runs';
import { parseMetricLine } from '../metric-line';
import type { ChartSeries } from './MetricChart';

/** Names where higher is better; everything else (loss, error, rmse…) is lower-is-better. */
export function higherIsBetter(name: string): boolean {
  return /acc|auc|f1|precision|recall|r2|score|iou|map|bleu|rouge|reward|throughput/i.test(name);
}

export function toPoints(s: MetricSeries): ChartSeries['points'] {
  return s.points.map((p, i) => ({ x: p.step ?? i, y: p.value }));
}

export function summarize(s: MetricSeries): { final: number | null; best: number | null } {
  if (s.points.length === 0) return { final: null, best: null };
  const vals = s.points.map((p) => p.value);
  return { final: vals[vals.length - 1], best: higherIsBetter(s.name) ? Math.max(...vals) : Math.min(...vals) };
}

/** Adds metric lines seen in the live log to already-loaded series (steps already present are kept). */
export function mergeLive(series: MetricSeries[], texts: Array<{ text: string; time: string; stream: string }>): MetricSeries[] {
  let out: MetricSeries[] | null = null;
  for (const l of texts) {
    if (l.stream !== 'stdout') continue;
    const m = parseMetricLine(l.text);
    if (!m || 'error' in m || m.step === null) continue;
    out ??= series.map((s) => ({ ...s, points: [...s.points] }));
    let s = out.find((x) => x.name === m.name);
    if (!s) { s = { name: m.name, points: [] }; out.push(s); }
    if (s.points.some((p) => p.step === m.step)) continue;
    s.points.push({ step: m.step, value: m.value, time: l.time });
    s.points.sort((a, b) => (a.step ?? 0) - (b.step ?? 0));
  }
  return out ?? series;
}
