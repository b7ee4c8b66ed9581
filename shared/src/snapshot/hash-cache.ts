/**
 * Stat-keyed caches of file hashes, kept outside the workspace
 * (`${XDG_CACHE_HOME:-~/.cache}/trainyard/`), so a re-save does not read
 * unchanged files again. Node-only.
 *
 * An entry is keyed by a file's stat "fingerprint": size, mtime and ctime in
 * nanoseconds, inode and device (statKey). Any write changes mtime and ctime
 * (ctime cannot be set back by utimes), a replaced file has another inode,
 * so a changed file never matches its old entry. The one hole is the "racy"
 * case git knows: a write within the same timestamp tick as the stat that was
 * cached. So an entry is recorded only when the file's mtime and ctime are at
 * least RACY_MS older than the clock when its hash was computed, and only when
 * the file's stat was the same before and after it was read (isCacheable):
 * a later write then always gets a newer timestamp than the cached one.
 * (This assumes file timestamps come from a clock within RACY_MS of ours, as
 * on any local file system.)
 *
 * Cache files are written as temp + rename; an unreadable or foreign cache is
 * ignored (everything is hashed again), and failing to write one is not an error.
 */
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { writeAtomic } from '../write-atomic';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** how much older than "now" a file's mtime and ctime must be before its hash is cached */
export const RACY_MS = 2000;
const RACY_NS = BigInt(RACY_MS) * 1_000_000n;
/** cache files not used for this long are removed when a new one is written */
const PRUNE_AFTER_MS = 30 * 24 * 3600 * 1000;

/** `${XDG_CACHE_HOME:-~/.cache}/trainyard/<kind>`, or TRAINYARD_CACHE_DIR/<kind> */
export function defaultCacheDir(kind: string): string {
  const root = process.env.TRAINYARD_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'trainyard');
  return join(root, kind);
}

/** size:mtimeNs:ctimeNs:ino:dev of a bigint stat */
export function statKey(st: BigIntStats): string {
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.dev}`;
}

/** the current wall clock in nanoseconds */
export const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** whether a file whose stat key is `key` (taken at or after `startedNs`) may be cached: not written within RACY_MS of it */
export function isSettled(key: string, startedNs: bigint): boolean {
  const [, mtime, ctime] = key.split(':');
  try {
    return BigInt(mtime) < startedNs - RACY_NS && BigInt(ctime) < startedNs - RACY_NS;
  } catch {
    return false;
  }
}

/** stable and settled: the stats before and after reading agree, and neither timestamp is recent */
export function isCacheable(before: string, after: string, startedNs: bigint): boolean {
  return before === after && isSettled(before, startedNs);
}

/** isCacheable of the two stats' keys, from the stats themselves (no key strings made and parsed: a verification of 20,000 files spent ~40 ms on that) */
export function statsCacheable(before: BigIntStats, after: BigIntStats, startedNs: bigint): boolean {
  const settled = startedNs - RACY_NS;
  return (
    before.size === after.size && before.mtimeNs === after.mtimeNs && before.ctimeNs === after.ctimeNs && before.ino === after.ino && before.dev === after.dev &&
    before.mtimeNs < settled && before.ctimeNs < settled
  );
}

export async function readCacheFile<T>(file: string, version: string): Promise<T | null> {
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as { version?: string; data?: T };
    return doc.version === version && doc.data !== undefined ? doc.data : null;
  } catch {
    return null;
  }
}

export async function writeCacheFile(file: string, dir: string, version: string, data: unknown): Promise<void> {
  try {
    let isNew = false;
    try {
      await stat(file);
    } catch {
      isNew = true;
    }
    await mkdir(dir, { recursive: true });
    await writeAtomic(file, JSON.stringify({ version, data }));
    if (isNew) await prune(dir);
  } catch {
    /* a cache that cannot be written is no error */
  }
}

async function prune(dir: string): Promise<void> {
  const cutoff = Date.now() - PRUNE_AFTER_MS;
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    try {
      if ((await stat(p)).mtimeMs < cutoff) await rm(p, { force: true });
    } catch {
      /* raced with another save */
    }
  }
}

export const cacheFileName = (...parts: string[]): string => `${createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32)}.json`;
