/**
 * The training-code contract for metrics: a stdout line
 *   ::trainyard:metric {"name":"rmse","value":0.31,"step":3}
 * parseMetricLine returns the metric, null for an ordinary line, or an error
 * string for a line that claims to be a metric but is malformed.
 */
export const METRIC_PREFIX = '::trainyard:metric ';

export interface ParsedMetric {
  name: string;
  value: number;
  step: number | null;
}

export function parseMetricLine(line: string): ParsedMetric | { error: string } | null {
  if (!line.startsWith(METRIC_PREFIX)) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(line.slice(METRIC_PREFIX.length));
  } catch {
    return { error: 'metric line is not valid JSON' };
  }
  if (!obj || typeof obj !== 'object') return { error: 'metric line must be a JSON object' };
  const { name, value, step } = obj as Record<string, unknown>;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) return { error: 'metric "name" must be a non-empty string (max 200)' };
  if (typeof value !== 'number' || !Number.isFinite(value)) return { error: `metric "${name}": "value" must be a finite number` };
  if (step !== undefined && step !== null && !(Number.isInteger(step) && (step as number) >= 0)) {
    return { error: `metric "${name}": "step" must be a non-negative integer` };
  }
  return { name, value, step: (step as number | null | undefined) ?? null };
}
