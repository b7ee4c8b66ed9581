/**
 * Argument parsing that commander leaves to us: typed `--param k=v` values,
 * `--sweep k=a,b,c` axes (repeated flags make a grid), MODEL[:VERSION],
 * numbers with ranges and `--entrypoint NAME=COMMAND`. Every bad form throws a
 * UsageError that says the expected form, so the user can fix it from the message.
 */
import type { ParamValue, Params, SweepSpec } from '@trainyard/shared';
import { ENTRYPOINT_NAME_PATTERN, MODEL_NAME_PATTERN, PARAM_KEY_PATTERN, VERSION_LABEL_PATTERN } from '@trainyard/shared/patterns';
import { UsageError } from './errors';

// the same patterns the API validates with
const PARAM_KEY = new RegExp(PARAM_KEY_PATTERN);
const MODEL_NAME = new RegExp(MODEL_NAME_PATTERN);
const VERSION_LABEL = new RegExp(VERSION_LABEL_PATTERN);
const ENTRYPOINT_NAME = new RegExp(ENTRYPOINT_NAME_PATTERN);
const INTEGER = /^-?\d+$/;
const FLOAT = /^-?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/;

/** Integers and floats become numbers, true/false booleans, anything else (including "") a string. */
export function typeValue(raw: string): ParamValue {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (INTEGER.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : raw;
  }
  if (FLOAT.test(raw)) {
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw;
  }
  return raw;
}

function splitKeyValue(flag: string, form: string, arg: string): [string, string] {
  const at = arg.indexOf('=');
  if (at < 0) throw new UsageError(`${flag} expects ${form} (got "${arg}")`);
  const key = arg.slice(0, at);
  if (!PARAM_KEY.test(key)) {
    throw new UsageError(
      `${flag} expects ${form}, where KEY is a letter or "_" then letters, digits, "_", "." or "-" (got key "${key}")`,
    );
  }
  return [key, arg.slice(at + 1)];
}

export function parseParams(args: string[]): Params {
  const out: Params = {};
  for (const arg of args) {
    const [key, raw] = splitKeyValue('--param', 'KEY=VALUE', arg);
    if (key in out) throw new UsageError(`--param ${key} is given twice`);
    out[key] = typeValue(raw);
  }
  return out;
}

/** Each `--sweep k=a,b,c` is one axis; the server launches one run per point of their grid. */
export function parseSweeps(args: string[]): SweepSpec | undefined {
  if (args.length === 0) return undefined;
  const out: SweepSpec = {};
  for (const arg of args) {
    const [key, raw] = splitKeyValue('--sweep', 'KEY=V1,V2,...', arg);
    if (key in out) throw new UsageError(`--sweep ${key} is given twice; list all its values in one flag: --sweep ${key}=a,b,c`);
    const parts = raw.split(',');
    if (parts.some((p) => p === '')) {
      throw new UsageError(`--sweep ${key} has an empty value in "${raw}"; expected KEY=V1,V2,... with no empty values`);
    }
    out[key] = parts.map(typeValue);
  }
  return out;
}

/** How many runs a grid makes. */
export function gridSize(sweep: SweepSpec | undefined): number {
  if (!sweep) return 1;
  return Object.values(sweep).reduce((n, values) => n * values.length, 1);
}

/** Every point of the grid, in the order the axes and values were given. */
export function gridPoints(sweep: SweepSpec): Params[] {
  let points: Params[] = [{}];
  for (const [key, values] of Object.entries(sweep)) {
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return points;
}

export function parseModelRef(arg: string): { model: string; version?: string } {
  const at = arg.indexOf(':');
  const model = at < 0 ? arg : arg.slice(0, at);
  const version = at < 0 ? undefined : arg.slice(at + 1);
  if (!MODEL_NAME.test(model)) {
    throw new UsageError(
      `expected MODEL[:VERSION] where MODEL is 2-63 lower-case letters, digits and dashes, e.g. eta-correction (got "${arg}")`,
    );
  }
  if (version !== undefined && !VERSION_LABEL.test(version)) {
    throw new UsageError(`expected MODEL[:VERSION] where VERSION is letters, digits, ".", "_", "+", "-" (got "${arg}")`);
  }
  return version === undefined ? { model } : { model, version };
}

export function parseModelName(arg: string): string {
  if (!MODEL_NAME.test(arg)) {
    throw new UsageError(`a model name is 2-63 lower-case letters, digits and dashes, starting with a letter, e.g. eta-correction (got "${arg}")`);
  }
  return arg;
}

export function parseIntOption(flag: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`${flag} expects a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return Number(raw);
}

export function parseEntrypoints(args: string[]): Record<string, string> | undefined {
  if (args.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const arg of args) {
    const at = arg.indexOf('=');
    const name = at < 0 ? '' : arg.slice(0, at);
    const command = at < 0 ? '' : arg.slice(at + 1).trim();
    if (at < 0 || !ENTRYPOINT_NAME.test(name) || command === '') {
      throw new UsageError(`--entrypoint expects NAME=COMMAND with NAME like train or predict, e.g. --entrypoint "train=python train.py" (got "${arg}")`);
    }
    if (name in out) throw new UsageError(`--entrypoint ${name} is given twice`);
    out[name] = command;
  }
  return out;
}

export function parseEntrypointName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!ENTRYPOINT_NAME.test(raw)) throw new UsageError(`--entrypoint expects a name like train or predict (got "${raw}")`);
  return raw;
}

/** commander collector for repeatable options */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
