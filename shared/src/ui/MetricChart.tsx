/**
 * One metric over steps with uPlot (canvas, fast with many points). Several
 * series overlay (a sweep's members). Colours come from the theme's CSS
 * variables, resolved when the chart is made; the chart follows its width.
 * Where canvas is unavailable (jsdom) it shows the last values as text.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { num } from './format';
import { useUi } from './context';

export interface ChartSeries { label: string; points: Array<{ x: number; y: number }> }
export interface MetricChartProps { title: string; series: ChartSeries[]; height?: number; xLabel?: string }

const PALETTE = [4, 1, 2, 3, 5, 6, 12, 9, 10, 11, 13, 14];

function canDraw(): boolean {
  try {
    return typeof HTMLCanvasElement !== 'undefined' && !/jsdom/i.test(navigator.userAgent) && !!document.createElement('canvas').getContext('2d');
  } catch {
    return false;
  }
}

/** Aligns series on the union of their x values (uPlot's data shape). */
export function alignSeries(series: ChartSeries[]): [number[], ...(number | null)[][]] {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    for (const p of s.points) col[at.get(p.x)!] = p.y;
    return col;
  });
  return [xs, ...ys];
}

export function MetricChart({ title, series, height = 220, xLabel = 'step' }: MetricChartProps) {
  const { theme } = useUi();
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('\u0000');
  const drawable = canDraw();

  useEffect(() => {
    const el = box.current;
    if (!el || !drawable) return;
    const css = getComputedStyle(el);
    const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
    const fg = v('--ty-fg-muted', '#888');
    const grid = v('--ty-chart-grid', 'rgba(128,128,128,0.2)');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: el.clientWidth || 400,
      height,
      legend: { show: series.length > 1 && series.length <= 12, live: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false } },
      axes: [{ ...axis, label: xLabel, labelSize: 18 }, { ...axis, size: 60, values: (_u, vals) => vals.map((x) => num(x)) }],
      series: [
        { label: xLabel },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: v(`--ty-ansi-${PALETTE[i % PALETTE.length]}`, '#4c8dff'),
          width: 1.75,
          spanGaps: true,
          points: { show: s.points.length < 60, size: 4 },
          value: (_u: uPlot, x: number | null) => (x === null ? '—' : num(x)),
        })),
      ],
    };
    const u = new uPlot(opts, alignSeries(series) as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => { if (el.clientWidth) u.setSize({ width: el.clientWidth, height }); });
    ro.observe(el);
    return () => { ro.disconnect(); u.destroy(); plot.current = null; };
    // re-create only when the set of series, the size or the theme (colours) changes; data updates below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height, drawable, xLabel, theme]);

  useEffect(() => { plot.current?.setData(alignSeries(series) as uPlot.AlignedData); }, [series]);

  return (
    <figure className="ty-card ty-chart" style={{ margin: 0 }} data-metric={title}>
      <figcaption className="ty-row"><strong>{title}</strong><span className="ty-muted ty-small">over {xLabel}s</span></figcaption>
      <div ref={box} style={{ minHeight: drawable ? height : undefined }} aria-label={`chart of ${title}`} role="img" />
      {drawable ? null : (
        <ul className="ty-small" style={{ margin: 0 }}>
          {series.map((s) => <li key={s.label}>{s.label}: {s.points.length} points, last {num(s.points.at(-1)?.y)}</li>)}
        </ul>
      )}
    </figure>
  );
}
