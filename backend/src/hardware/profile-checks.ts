/**
 * Checks of configured hardware profiles that the schema cannot state clearly: each
 * names the profile and says what to write instead.
 */
import type { HardwareProfile } from '@trainyard/shared';

const RESOURCE_SHAPE = 'a Kubernetes extended resource name, domain/name, such as nvidia.com/gpu, amd.com/gpu or gpu.intel.com/i915';

/** a clearer message for a schema error at this config path, or null */
export function profileSchemaHint(path: string, raw: unknown): string | null {
  const m = /^\/hardware\/(\d+)\/gpu\/resource$/.exec(path);
  if (!m) return null;
  const profiles = (raw as { hardware?: Array<{ name?: unknown; gpu?: { resource?: unknown } }> }).hardware;
  const p = profiles?.[Number(m[1])];
  const name = typeof p?.name === 'string' ? `hardware profile "${p.name}"` : `hardware profile #${Number(m[1]) + 1}`;
  return `${name}: gpu.resource must be ${RESOURCE_SHAPE} (got ${JSON.stringify(p?.gpu?.resource)})`;
}

/** problems the schema lets through; empty when the profiles are fine */
export function profileProblems(hardware: HardwareProfile[]): string[] {
  const out: string[] = [];
  const names = new Set<string>();
  for (const h of hardware) {
    if (names.has(h.name)) out.push(`hardware profile "${h.name}" is listed twice`);
    names.add(h.name);
    const resource = h.gpu?.resource;
    const domain = resource?.split('/')[0] ?? '';
    if (resource && (domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io'))) {
      out.push(`hardware profile "${h.name}": gpu.resource "${resource}" is in the kubernetes.io domain, which extended resources may not use; give the resource name the GPU's device plugin advertises, e.g. amd.com/gpu`);
    }
  }
  return out;
}
