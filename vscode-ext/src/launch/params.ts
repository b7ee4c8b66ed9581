/** "k=v k2=v2" as Params: keys with the shared ParamKey pattern; numbers and booleans typed. Pure, for tests. */
import type { ParamValue } from '@trainyard/shared/schemas/common';

export const PARAM_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

export function parseParams(text: string): { params: Record<string, ParamValue> } | { error: string } {
  const params: Record<string, ParamValue> = {};
  for (const part of text.trim().split(/\s+/).filter(Boolean)) {
    const at = part.indexOf('=');
    if (at <= 0) return { error: `"${part}" is not key=value` };
    const key = part.slice(0, at);
    const raw = part.slice(at + 1);
    if (!PARAM_KEY.test(key)) return { error: `"${key}": a param name is a letter or "_" then letters, digits, "_", "." or "-"` };
    if (key in params) return { error: `"${key}" is given twice` };
    params[key] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return { params };
}
