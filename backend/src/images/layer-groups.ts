/**
 * A layer's entries cut into groups (layer.ts WriteLayerOptions.cutAfter: the code layer's
 * compression pieces end after each group), and what an entry's and a group's tar bytes follow
 * from, for the caches of a re-save's unchanged groups (code-layer.ts).
 */
import { createHash } from 'node:crypto';
import { sha256Hex } from '@trainyard/shared/sha256';
import type { LayerEntry } from './layer';

/** what an entry's tar bytes follow from besides its path, or null for a file not named by sha256 (its bytes are whatever is read) */
export function entryKey(e: LayerEntry): string | null {
  if (e.type === 'dir') return `d ${e.mode ?? ''}`;
  if (e.type === 'symlink') return `l ${e.target}`;
  // a file's held bytes were hashed to its sha256 when they were verified
  const sha = 'file' in e.source ? e.source.sha256 : undefined;
  if (sha) return `f ${e.mode} ${sha}`;
  return e.source.data ? `f ${e.mode} ${sha256Hex(e.source.data)}` : null;
}

/** what the tar bytes of plan[from, to) follow from, or null when one of its entries' bytes are whatever is read */
export function groupKey(plan: LayerEntry[], from: number, to: number): string | null {
  const h = createHash('sha256');
  for (let i = from; i < to; i++) {
    const what = entryKey(plan[i]);
    if (what === null) return null;
    h.update(`\0${plan[i].path}\0${what}`);
  }
  return h.digest('hex');
}

/** the tar's end: two zero blocks */
export const END_OF_ARCHIVE = Buffer.alloc(1024);

/** where the plan's entries are cut into groups: each group's end (exclusive); the last is the plan's end */
export function groupEnds(plan: LayerEntry[], cutAfter?: (path: string) => boolean): number[] {
  const ends: number[] = [];
  if (cutAfter) for (let i = 0; i < plan.length - 1; i++) if (cutAfter(plan[i].path)) ends.push(i + 1);
  ends.push(plan.length);
  return ends;
}
