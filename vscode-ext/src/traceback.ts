/**
 * Traceback frames -> workspace files. A run's code sits under /app in its image (or
 * <run dir>/root/app in the local process sandbox), so a frame path maps to the part after an
 * `/app/` segment; the first candidate that exists in the workspace folder wins. Pure parts
 * are exported for tests.
 */
import { posix } from 'node:path';

/** workspace-relative candidates for an image path, longest (the first /app/ segment) first */
export function candidatesFor(path: string): string[] {
  const p = posix.normalize(path.replace(/\\/g, '/'));
  const out: string[] = [];
  let at = p.lastIndexOf('/app/');
  while (at >= 0) {
    const rel = p.slice(at + 5);
    if (rel && !rel.startsWith('../') && !out.includes(rel)) out.push(rel);
    at = at === 0 ? -1 : p.lastIndexOf('/app/', at - 1);
  }
  if (!p.startsWith('/') && !p.startsWith('../') && !out.includes(p)) out.push(p); // already relative
  return out.sort((a, b) => b.length - a.length);
}

/** the first candidate for which `exists` says yes */
export async function mapFrame(path: string, exists: (rel: string) => Promise<boolean>): Promise<string | null> {
  for (const rel of candidatesFor(path)) if (await exists(rel)) return rel;
  return null;
}
