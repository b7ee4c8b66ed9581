/**
 * A sweep's per-index data (params-<i>.json, and run-id-<i> for a launch) in as many ConfigMaps as
 * it needs. One ConfigMap holds at most 1 MiB, and the API accepts sweeps of 100,000 points, so the
 * entries are cut into chunks of at most CHUNK_BYTES, named `<base>`, `<base>-1`, `<base>-2`, …
 * The pods mount them all as one projected volume: the keys never repeat across chunks, so every
 * pod sees one directory with every index's files, as it did with one ConfigMap.
 */
import type { V1ConfigMap, V1Volume } from '@kubernetes/client-node';
import type { Params } from '@trainyard/shared';

/** under the 1 MiB object limit, with room for the metadata */
export const CHUNK_BYTES = 900 * 1024;

export function chunkName(base: string, chunk: number): string {
  return chunk === 0 ? base : `${base}-${chunk}`;
}

/** the ConfigMaps holding `data`, in order (at least one) */
export function paramConfigMaps(base: string, data: Array<[string, string]>, meta: { namespace: string; labels: Record<string, string> }, chunkBytes = CHUNK_BYTES): V1ConfigMap[] {
  const chunks: Array<Record<string, string>> = [{}];
  let size = 0;
  for (const [k, v] of data) {
    const n = Buffer.byteLength(k) + Buffer.byteLength(v) + 8;
    if (size > 0 && size + n > chunkBytes) {
      chunks.push({});
      size = 0;
    }
    chunks[chunks.length - 1][k] = v;
    size += n;
  }
  return chunks.map((d, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: chunkName(base, i), namespace: meta.namespace, labels: { ...meta.labels } }, data: d }));
}

/** the one volume the pods read every chunk through */
export function paramsVolume(names: string[]): V1Volume {
  return { name: 'params', projected: { sources: names.map((name) => ({ configMap: { name } })) } };
}

/** the params of indexes 0..count-1 from a sweep's ConfigMaps, or null when one is missing or unreadable */
export function paramsFromConfigMaps(maps: V1ConfigMap[], count: number): Params[] | null {
  const data: Record<string, string> = Object.assign({}, ...maps.map((m) => m.data ?? {}));
  const out: Params[] = [];
  for (let i = 0; i < count; i++) {
    const raw = data[`params-${i}.json`];
    if (raw === undefined) return null;
    try {
      const p = JSON.parse(raw) as unknown;
      if (!p || typeof p !== 'object' || Array.isArray(p)) return null;
      out.push(p as Params);
    } catch {
      return null;
    }
  }
  return out;
}
