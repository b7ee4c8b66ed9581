/**
 * The launch form's pure logic: form state -> LaunchRequest, field-level
 * validation with the same TypeBox schema the backend validates with, the
 * size of the sweep grid, and a plain-words cron preview (croner, as the backend).
 */
import Value from 'typebox/value';
import { Cron } from 'croner';
import { LaunchRequest } from '../schemas/launch';
import { ParamKey, type ParamValue } from '../schemas/common';

export type ValueType = 'string' | 'number' | 'boolean';
export interface ParamRow { key: string; type: ValueType; value: string }
export interface AxisRow { key: string; type: ValueType; values: string }
export interface LaunchFormState {
  model: string;
  version: string;
  entrypoint: string;
  hardware: string;
  params: ParamRow[];
  axes: AxisRow[];
  parallelism: string;
  maxDuration: string;
  scheduleOn: boolean;
  schedule: string;
  timezone: string;
  /** a schedule's fires: 'latest' version at each fire (default), or 'pinned' to `version` */
  versionPolicy: 'latest' | 'pinned';
  /** a training run whose artifacts the run reads: '' none, 'latest', or a run id (sent only when the entrypoint is not train) */
  fromRun: string;
}

export const emptyForm = (): LaunchFormState => ({
  model: '', version: '', entrypoint: 'train', hardware: '', params: [], axes: [],
  parallelism: '', maxDuration: '', scheduleOn: false, schedule: '0 3 * * 1', timezone: 'UTC', versionPolicy: 'latest', fromRun: '',
});

/** field -> message. Fields: model, version, entrypoint, hardware, parallelism, maxDuration, schedule, fromRun, param:<i>, axis:<i>. */
export type FieldErrors = Record<string, string>;

function typed(raw: string, type: ValueType): ParamValue | { error: string } {
  const s = raw.trim();
  if (type === 'number') {
    if (s === '' || !Number.isFinite(Number(s))) return { error: `"${raw}" is not a number` };
    return Number(s);
  }
  if (type === 'boolean') {
    if (s === 'true') return true;
    if (s === 'false') return false;
    return { error: `"${raw}" must be true or false` };
  }
  return raw;
}

function wholeNumber(raw: string, field: string, errors: FieldErrors): number | undefined {
  const s = raw.trim();
  if (s === '') return undefined;
  if (!/^-?\d+$/.test(s)) { errors[field] = 'must be a whole number'; return undefined; }
  return Number(s);
}

export function splitValues(values: string): string[] {
  return values.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
}

/** How many runs the form makes: the product of the axes' value counts (1 without a sweep). */
export function gridSize(axes: AxisRow[]): number {
  return axes.filter((a) => a.key.trim()).reduce((n, a) => n * Math.max(1, new Set(splitValues(a.values)).size), 1);
}

export function buildRequest(f: LaunchFormState): { request: LaunchRequest; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const req: Record<string, unknown> = { model: f.model };
  if (f.version) req.version = f.version;
  if (f.entrypoint) req.entrypoint = f.entrypoint;
  if (f.hardware) req.hardware = f.hardware;
  if (f.fromRun && f.entrypoint !== 'train') req.fromRun = f.fromRun;
  const params: Record<string, ParamValue> = {};
  f.params.forEach((p, i) => {
    const key = p.key.trim();
    if (!key && !p.value) return;
    if (!key) { errors[`param:${i}`] = 'give the param a name'; return; }
    if (key in params) { errors[`param:${i}`] = `"${key}" is set twice`; return; }
    const v = typed(p.value, p.type);
    if (typeof v === 'object') errors[`param:${i}`] = v.error;
    else params[key] = v;
  });
  if (Object.keys(params).length) req.params = params;
  const sweep: Record<string, ParamValue[]> = {};
  f.axes.forEach((a, i) => {
    const key = a.key.trim();
    if (!key && !a.values.trim()) return;
    if (!key) { errors[`axis:${i}`] = 'give the axis a param name'; return; }
    if (key in sweep) { errors[`axis:${i}`] = `"${key}" is swept twice`; return; }
    if (key in params) { errors[`axis:${i}`] = `"${key}" is also a fixed param; remove one`; return; }
    const vals = splitValues(a.values);
    if (vals.length === 0) { errors[`axis:${i}`] = 'list at least one value, separated by commas'; return; }
    const out: ParamValue[] = [];
    for (const raw of vals) {
      const v = typed(raw, a.type);
      if (typeof v === 'object') { errors[`axis:${i}`] = v.error; return; }
      out.push(v);
    }
    sweep[key] = [...new Map(out.map((v) => [JSON.stringify(v), v])).values()];
  });
  if (Object.keys(sweep).length) req.sweep = sweep;
  const par = wholeNumber(f.parallelism, 'parallelism', errors);
  if (par !== undefined) req.parallelism = par;
  const md = wholeNumber(f.maxDuration, 'maxDuration', errors);
  if (md !== undefined) req.maxDurationMinutes = md;
  if (f.scheduleOn) {
    req.schedule = f.schedule.trim();
    if (f.timezone.trim()) req.timezone = f.timezone.trim();
    req.versionPolicy = f.versionPolicy;
    if (f.versionPolicy === 'latest') delete req.version; // resolved at each fire, on every executor
    const preview = cronPreview(req.schedule as string, f.timezone.trim() || 'UTC');
    if ('error' in preview) errors.schedule = preview.error;
  }
  const request = req as LaunchRequest;
  for (const [field, msg] of Object.entries(schemaErrors(request, f))) errors[field] ??= msg;
  return { request, errors };
}

const FIELD_OF: Record<string, string> = {
  model: 'model', version: 'version', entrypoint: 'entrypoint', hardware: 'hardware',
  parallelism: 'parallelism', maxDurationMinutes: 'maxDuration', schedule: 'schedule', timezone: 'schedule', fromRun: 'fromRun',
};

/** Validates with the shared LaunchRequest schema and puts each message next to its field. */
export function schemaErrors(request: LaunchRequest, f: LaunchFormState): FieldErrors {
  const out: FieldErrors = {};
  const paramIndex = (key: string) => f.params.findIndex((p) => p.key.trim() === key);
  const axisIndex = (key: string) => f.axes.findIndex((a) => a.key.trim() === key);
  for (const e of Value.Errors(LaunchRequest, request)) {
    const parts = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const top = parts[0] ?? '';
    if ((top === 'params' || top === 'sweep') && (parts[1] !== undefined || e.keyword === 'additionalProperties')) {
      const keys = parts[1] !== undefined ? [parts[1]] : ((e.params as { additionalProperties?: string[] }).additionalProperties ?? []);
      for (const key of keys) {
        const field = top === 'params' ? `param:${paramIndex(key)}` : `axis:${axisIndex(key)}`;
        const badName = !Value.Check(ParamKey, key);
        out[field] ??= badName ? `name must be ${(ParamKey as { description?: string }).description}` : describe(e);
      }
      continue;
    }
    const field = FIELD_OF[top] ?? (top === '' && e.keyword === 'required' ? 'model' : top || 'form');
    const prop = (LaunchRequest.properties as Record<string, { description?: string }>)[top];
    out[field] ??= describe(e, prop?.description);
  }
  return out;
}

function describe(e: { keyword: string; message: string }, desc?: string): string {
  if ((e.keyword === 'pattern' || e.keyword === 'format') && desc) return `must be ${desc}`;
  if (e.keyword === 'required') return 'required';
  return desc ? `${e.message} (${desc})` : e.message;
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export function cronPreview(expr: string, timezone = 'UTC', count = 3, from?: Date): { words: string; next: Date[] } | { error: string } {
  if (!expr.trim()) return { error: 'write a cron rule, e.g. "0 3 * * 1" for Mondays at 03:00' };
  try {
    const c = new Cron(expr, { paused: true, timezone });
    const next = c.nextRuns(count, from);
    if (next.length === 0) return { error: 'this rule never fires' };
    return { words: describeCron(expr, timezone), next };
  } catch (err) {
    return { error: `not a cron rule: ${(err as Error).message}. Use 5 fields: minute hour day-of-month month day-of-week` };
  }
}

/** A plain-words reading of common 5-field rules; falls back to the rule itself. */
export function describeCron(expr: string, timezone = 'UTC'): string {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) return `on the rule "${expr}" (${timezone})`;
  const [min, hour, dom, mon, dow] = f;
  const isNum = (s: string) => /^\d+$/.test(s);
  const list = (s: string, names?: string[]) =>
    s.split(',').map((x) => {
      const r = /^(\d+)-(\d+)$/.exec(x);
      if (r && names) return `${names[+r[1] % names.length]} to ${names[+r[2] % names.length]}`;
      return names && isNum(x) ? names[+x % names.length] : x;
    }).join(', ');
  let time: string;
  if (isNum(min) && isNum(hour)) time = `at ${hour.padStart(2, '0')}:${min.padStart(2, '0')}`;
  else if (isNum(min) && hour === '*') time = min === '0' ? 'every hour, on the hour' : `every hour at minute ${min}`;
  else if (/^\*\/\d+$/.test(min) && hour === '*') time = `every ${min.slice(2)} minutes`;
  else if (min === '*' && hour === '*') time = 'every minute';
  else if (isNum(min) && /^\*\/\d+$/.test(hour)) time = `every ${hour.slice(2)} hours at minute ${min}`;
  else if (isNum(min) && /^[\d,]+$/.test(hour)) time = `at minute ${min} of hours ${hour}`;
  else return `on the rule "${expr}" (${timezone})`;
  const days: string[] = [];
  if (dow !== '*' && dow !== '?') days.push(`on ${list(dow, DAYS)}`);
  if (dom !== '*' && dom !== '?') days.push(`on day ${dom} of the month`);
  if (mon !== '*') days.push(`in ${list(mon, ['', ...MONTHS])}`);
  if (days.length === 0 && isNum(hour)) days.push('every day');
  return `${time} ${days.join(' ')} (${timezone})`.replace(/\s+/g, ' ');
}

export function formatFireTime(d: Date, timezone = 'UTC'): string {
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone: timezone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false }).format(d) + ` ${timezone}`;
  } catch {
    return d.toISOString();
  }
}
