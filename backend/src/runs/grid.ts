/**
 * Sweep grids: the cartesian product of the axes, in a stable order (axes in
 * the order given, the last axis varying fastest), merged over the fixed params.
 */
import type { Params, ParamValue, SweepSpec } from '@trainyard/shared';
import { invalid } from '../errors';

export const MAX_GRID = 10_000;
export const MAX_GRID_OVERRIDE = 100_000;

export function gridSize(axes: SweepSpec): number {
  return Object.values(axes).reduce((n, values) => n * values.length, 1);
}

export function expandGrid(fixed: Params, axes: SweepSpec | undefined, allowLarge = false): Params[] {
  if (!axes) return [fixed];
  const keys = Object.keys(axes);
  for (const k of keys) {
    if (k in fixed) throw invalid(`param "${k}" is both fixed (--param) and swept (--sweep); drop one of them`);
    const values = axes[k];
    if (values.length === 0) throw invalid(`sweep axis "${k}" has no values; give at least one, e.g. --sweep ${k}=a,b`);
    const seen = new Set(values.map((v) => JSON.stringify(v)));
    if (seen.size !== values.length) throw invalid(`sweep axis "${k}" lists a value twice`);
  }
  const size = gridSize(axes);
  const limit = allowLarge ? MAX_GRID_OVERRIDE : MAX_GRID;
  if (size > limit) {
    throw invalid(
      allowLarge
        ? `the sweep grid has ${size} points; the hard limit is ${MAX_GRID_OVERRIDE}`
        : `the sweep grid has ${size} points, over the limit of ${MAX_GRID}; shrink an axis or pass allowLargeSweep (--allow-large-sweep) to go up to ${MAX_GRID_OVERRIDE}`,
      { size, limit },
    );
  }
  let points: Array<Record<string, ParamValue>> = [{}];
  for (const k of keys) {
    const next: Array<Record<string, ParamValue>> = [];
    for (const p of points) for (const v of axes[k]) next.push({ ...p, [k]: v });
    points = next;
  }
  return points.map((p) => ({ ...fixed, ...p }));
}
