/** Metric helpers: series -> chart points, final and best values, and which way is better. */
import type { MetricSeries } from '../schemas/runs';
import { parseMetricLine } from '../metric-line';
import type { ChartSeries } from './MetricChart';

/**
 * A guess from the name only: names like accuracy, auc, f1, score are higher-is-better;
 * everything else (loss, error, rmse…) lower-is-better. The UI shows it as a guess and
 * lets the user change it (SweepView), or shows both min and max (RunDetails).
 */
export function higherIsBetter(name: string): boolean {
  return /acc|auc|f1|precision|recall|r2|score|iou|map|bleu|rouge|reward|throughput/i.test(name);
}

/** Which end of a metric is best. */
export type Direction = 'min' | 'max';
export const guessDirection = (name: string): Direction => (higherIsBetter(name) ? 'max' : 'min');

export function toPoints(s: MetricSeries): ChartSeries['points'] {
  return s.points.map((p, i) => ({ x: p.step ?? i, y: p.value }));
}

export interface Summary { final: number | null; min: number | null; max: number | null; best: number | null }

/** Final, min and max of a series, and the best one for `direction` (the name-based guess by default). */
export function summarize(s: MetricSeries, direction: Direction = guessDirection(s.name)): Summary {
  if (s.points.length === 0) return { final: null, min: null, max: null, best: null };
  let min = Infinity, max = -Infinity;
  for (const p of s.points) { if (p.value < min) min = p.value; if (p.value > max) max = p.value; }
  return { final: s.points[s.points.length - 1].value, min, max, best: direction === 'max' ? max : min };
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
