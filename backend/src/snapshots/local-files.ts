/**
 * Save Model's local fast path: when the client and the backend share a file system
 * (the embedded default, `trainyard serve` on loopback), the client sends the absolute
 * paths of its files with the manifest (POST /v1/snapshots `localFiles`: verified while the
 * base image is read) or later for the files the backend lacks (POST
 * /v1/snapshots/:id/local-files) instead of their bytes, and the build reads them in place.
 *
 * Safety: the backend reads a path only for a sha256 the snapshot needs, and accepts it
 * only when the file's bytes hash to that sha256, i.e. when the caller already knows the
 * exact content. A path that is missing, unreadable, not a regular file, too big or of
 * other content is answered the same way (the blob stays missing: upload it), so the
 * answer says nothing about the server's files. A file the manifest says is larger than
 * DEFER_MIN is taken without being read at all: the build reads such a file in full anyway,
 * and hashes it as it goes (layer.ts), so hashing it here too only doubled the work (50 MB of
 * dependencies: ~100 ms of CPU, and the dependency layer waited for it). The build fails, with
 * one message for every cause (missing, unreadable, another size or other bytes), unless it has
 * the size named and the bytes hash to the sha256: still nothing said about the server's files.
 * The bytes a small file was verified from are held for the snapshot's build (HELD_MAX), which
 * takes them as they are: the image holds what the manifest names even if the file is edited
 * meanwhile. A verified file read again (past HELD_MAX, or taken by its unchanged stat) is
 * hashed again as the layer writer reads it (layer.ts), and the build fails if it changed,
 * unless it still has the stat key it was verified under (then its bytes are the ones hashed).
 * A file verified before and unchanged since (same device, inode, size, mtime and ctime; remembered only when those
 * were settled, as the client's hash cache does: hash-cache.ts) is not read again, so a
 * re-save verifies only what changed. The route exists only
 * when the server listens on a loopback address (server.host 127.0.0.1, ::1 or localhost):
 * a remote caller never gets a file read, and a backend reached from elsewhere
 * (Kubernetes, a team server) takes uploads only.
 */
import { createHash } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { CreateSnapshot, SnapshotEnvironment } from '@trainyard/shared';
import { nowNs, statKey, statsCacheable } from '@trainyard/shared/snapshot/hash-cache';
import { sha256Hex } from '@trainyard/shared/sha256';
import { timeStage } from '@trainyard/shared/snapshot/stages';
import { mapLimit } from '@trainyard/shared/map-limit';
import { BufferPool } from '@trainyard/shared/buffer-pool';
import { readSmallSync, SYNC_MAX, SyncReads } from '@trainyard/shared/snapshot/small-read';
import { statMany } from '@trainyard/shared/snapshot/stat-many';
import { environmentShas } from '../images/dependencies';
import type { FileSource } from '../images/layer';

/** a file offered in place: its absolute path on this machine and the sha256 it should hash to */
export type InPlaceFile = { sha256: string; path: string };

/** an offered path the backend may read: absolute, with no NUL */
const absolute = (path: string) => path.startsWith('/') && !path.includes('\0');

/**
 * Offered files the manifest names larger than this are taken unread, their check left to the
 * build (see above), which reads them and hashes what it reads (layer.ts). Smaller ones are
 * verified here and their bytes held for the build (read once: small-read.ts SYNC_MAX).
 */
export const DEFER_MIN = SYNC_MAX;

const envSizes = new WeakMap<SnapshotEnvironment, Map<string, number>>();

/** sha256 ⇒ the size the manifest names for it (its files', and its environment's when asked), for DEFER_MIN */
export function claimedSizes(manifest: CreateSnapshot, withEnvironment: boolean): (sha256: string) => number | undefined {
  const env = withEnvironment ? manifest.environment : undefined;
  let inEnv = env && envSizes.get(env); // kept per environment object, as environmentShas is
  if (env && !inEnv) {
    inEnv = new Map();
    for (const d of env.distributions) for (const f of d.files ?? []) inEnv.set(f.sha256, f.size);
    envSizes.set(env, inEnv);
  }
  const files = new Map(manifest.files.map((f) => [f.sha256, f.size]));
  return (sha256) => files.get(sha256) ?? inEnv?.get(sha256);
}

/** path ⇒ [stat key, sha256] of files a service hashed (bounded; oldest dropped first) */
export type VerifiedByPath = Map<string, [string, string]>;
const VERIFIED_MAX = 200_000;

/**
 * A service's VerifiedByPath with its reverse look-up kept up to date (sha256 ⇒ the path last
 * verified to hold it): a re-save of an environment of 20,000 files asks it for every one.
 */
export class VerifiedFiles extends Map<string, [string, string]> {
  private readonly bySha = new Map<string, string>();

  override set(path: string, value: [string, string]): this {
    this.delete(path);
    super.set(path, value);
    this.bySha.set(value[1], path);
    return this;
  }

  override delete(path: string): boolean {
    const sha = super.get(path)?.[1];
    if (sha !== undefined && this.bySha.get(sha) === path) this.bySha.delete(sha);
    return super.delete(path);
  }

  override clear(): void {
    this.bySha.clear();
    super.clear();
  }

  /** a path verified to hold `sha256`, if any (its stat is checked by the caller) */
  pathOf(sha256: string): string | undefined {
    return this.bySha.get(sha256);
  }
}

/** files verified between two turns of the event loop (most are read with blocking calls) */
const YIELD_EVERY = 128;

/** the read buffers of verifyLocalFile (four verify at once: LocalSources) */
const readBuffers = new BufferPool(1 << 20, 4);

/**
 * whether `path` is a regular file of at most `maxBytes` whose bytes hash to `sha256` (false for
 * anything else); `verified` remembers the files hashed, so an unchanged one is not read again.
 * With `reads`, small files are read with blocking calls (small-read.ts: 30x less CPU than async here).
 */
export async function verifyLocalFile(path: string, sha256: string, maxBytes: number, verified: VerifiedByPath = new Map(), reads?: SyncReads, read?: (data: Buffer) => void): Promise<boolean> {
  if (!absolute(path)) return false;
  const known = verified.get(path);
  if (known && known[1] === sha256) {
    const st = reads?.blocking ? (await statMany([path]))[0] : await stat(path, { bigint: true }).catch(() => null);
    if (st?.isFile() && st.size <= BigInt(maxBytes) && statKey(st) === known[0]) return true;
  }
  const startedNs = nowNs();
  const remember = (before: BigIntStats, after: BigIntStats) => {
    // remembered only when the file did not change while it was read and was not written just before
    if (!statsCacheable(before, after, startedNs)) return;
    verified.delete(path);
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(path, [statKey(before), sha256]);
  };
  if (reads?.blocking) {
    let small;
    try {
      small = readSmallSync(path, reads, Math.min(SYNC_MAX, maxBytes));
    } catch {
      return false; // missing, unreadable, not a regular file
    }
    if (small) {
      if (sha256Hex(small.data) !== sha256) return false;
      remember(small.before, small.after);
      read?.(small.data);
      return true;
    }
  }
  let fh;
  try {
    // O_NONBLOCK: a FIFO must not hang the request (it is refused below as not a regular file)
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile() || st.size > BigInt(maxBytes)) return false;
    const hash = createHash('sha256');
    const ok = await readBuffers.with(async (buf) => {
      let total = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) return true;
        total += bytesRead;
        if (total > maxBytes) return false;
        hash.update(buf.subarray(0, bytesRead));
      }
    });
    if (!ok || hash.digest('hex') !== sha256) return false;
    remember(st, await fh.stat({ bigint: true }));
    return true;
  } catch {
    return false;
  } finally {
    await fh.close();
  }
}

/**
 * The bytes of small files verified for a snapshot, kept for its build (a first save of a large
 * environment then reads each of its files once, not twice: 20,000 small files took 480-810 ms
 * to write into a layer from the files, 310-440 ms from memory), at most this much in all.
 */
const HELD_MAX = 64 << 20;

/** per snapshot: the verified in-place sources (sha256 ⇒ absolute path), for the build */
export class LocalSources {
  private readonly bySnapshot = new Map<string, Map<string, string>>();
  private readonly held = new Map<string, Map<string, Buffer>>();
  private heldBytes = 0;
  /** per snapshot: the files taken unread (DEFER_MIN), sha256 ⇒ the size the manifest names */
  private readonly unread = new Map<string, Map<string, number>>();
  /** the files this service verified, by path */
  readonly verified = new VerifiedFiles();

  constructor(private readonly keep = 64) {}

  get(id: string): Map<string, string> {
    return this.bySnapshot.get(id) ?? new Map();
  }

  /** where the build reads `sha256` in place, with the stat key it was verified under or the size named for a file taken unread (layer.ts FileSource), or null */
  source(id: string, sha256: string): FileSource | null {
    const file = this.get(id).get(sha256);
    if (!file) return null;
    const size = this.unread.get(id)?.get(sha256);
    if (size !== undefined) return { file, sha256, size };
    const known = this.verified.get(file);
    const data = this.held.get(id)?.get(sha256);
    return { file, sha256, ...(known && known[1] === sha256 ? { statKey: known[0] } : {}), ...(data ? { data } : {}) };
  }

  add(id: string, sha256: string, path: string): void {
    let m = this.bySnapshot.get(id);
    if (!m) {
      if (this.bySnapshot.size >= this.keep) this.drop(this.bySnapshot.keys().next().value!);
      this.bySnapshot.set(id, (m = new Map()));
    }
    m.set(sha256, path);
  }

  /** keeps the bytes a file taken for snapshot `id` was verified from, for its build (while HELD_MAX allows) */
  private hold(id: string, sha256: string, data: Buffer): void {
    if (this.heldBytes + data.length > HELD_MAX || !this.bySnapshot.has(id)) return;
    let m = this.held.get(id);
    if (!m) this.held.set(id, (m = new Map()));
    if (m.has(sha256)) return;
    m.set(sha256, data);
    this.heldBytes += data.length;
  }

  /** forgets snapshot `id`'s sources and the bytes held for it (its build is done, or it failed) */
  drop(id: string): void {
    this.bySnapshot.delete(id);
    this.unread.delete(id);
    for (const data of this.held.get(id)?.values() ?? []) this.heldBytes -= data.length;
    this.held.delete(id);
  }

  /**
   * For a new snapshot: the files verified before and unchanged since (by stat), then the
   * `offered` ones that hash to their sha256, are read in place by its build. The offered paths
   * are verified while `needs` (the environment files the build needs: known once the base image
   * is read) is pending, the workspace's first; once it is known, an environment file the
   * dependency layer does not need is skipped, and if it fails nothing more is read. Environment
   * files verified before wait for `needs` (a re-save usually needs none of them, and an
   * environment can have tens of thousands). Answers the sha256s verified now.
   */
  async takeOffered(id: string, manifest: CreateSnapshot, offered: InPlaceFile[], needs: Promise<string[]>, maxBytes: number): Promise<string[]> {
    const workspace = new Set(manifest.files.map((f) => f.sha256));
    await this.adoptKnown(id, [...workspace]);
    const seen = new Set<string>();
    const fresh = (f: InPlaceFile) => !this.get(id).has(f.sha256) && !seen.has(f.sha256) && !!seen.add(f.sha256);
    const knownBefore = (sha: string) => !workspace.has(sha) && this.verified.pathOf(sha) !== undefined;
    // whether an environment file was verified before this save (then it waits for `needs`): asked before anything is verified now
    const envShas = environmentShas(manifest.environment);
    const anyKnown = envShas.some(knownBefore);
    const offeredEnv = offered.filter((f) => !workspace.has(f.sha256));
    const environment = offeredEnv.length ? new Set(envShas) : null;
    const queue = [...offered.filter((f) => workspace.has(f.sha256)), ...offeredEnv.filter((f) => environment!.has(f.sha256) && !knownBefore(f.sha256))].filter(fresh);
    const base: { needs: Set<string> | null; failed: boolean } = { needs: null, failed: false };
    needs.then((d) => (base.needs = new Set(d)), () => (base.failed = true));
    const claimed = claimedSizes(manifest, !!environment);
    const now = queue.length ? await this.verifyAndTake(id, queue, maxBytes, (sha) => base.failed || (!!base.needs && !workspace.has(sha) && !base.needs.has(sha)), claimed) : [];
    if (!anyKnown) return now;
    // the environment files verified before: only those the build needs, unchanged since or verified again
    const needed = await needs.then((d) => d.filter((sha) => !workspace.has(sha) && !this.get(id).has(sha) && this.verified.pathOf(sha) !== undefined), () => []);
    if (!needed.length) return now;
    await this.adoptKnown(id, needed);
    const wanted = new Set(needed.filter((sha) => !this.get(id).has(sha)));
    const later = wanted.size ? await this.verifyAndTake(id, offered.filter((f) => wanted.has(f.sha256) && fresh(f)), maxBytes, undefined, claimed) : [];
    return [...now, ...later];
  }

  /**
   * takes for snapshot `id` each queued file that hashes to its sha256 (four at a time), skipping
   * those `skip` names, and unread those `claimed` names larger than DEFER_MIN (at most
   * `maxBytes`: a larger one is refused by the manifest's check first); answers the sha256s taken
   */
  async verifyAndTake(id: string, queue: InPlaceFile[], maxBytes: number, skip: (sha256: string) => boolean = () => false, claimed?: (sha256: string) => number | undefined): Promise<string[]> {
    const unread: string[] = [];
    if (claimed) {
      const rest: InPlaceFile[] = [];
      for (const f of queue) {
        const size = claimed(f.sha256);
        if (size === undefined || size <= DEFER_MIN || size > maxBytes || !absolute(f.path)) rest.push(f);
        else {
          this.takeUnread(id, f, size);
          unread.push(f.sha256);
        }
      }
      queue = rest;
    }
    const reads = new SyncReads();
    // small files are read with blocking calls: the event loop gets a turn every YIELD_EVERY files
    const taken = await timeStage('verify local files', () =>
      mapLimit(
        queue,
        4,
        async (f) => {
          let data: Buffer | undefined;
          if (skip(f.sha256) || !(await verifyLocalFile(f.path, f.sha256, maxBytes, this.verified, reads, (d) => (data = d)))) return null;
          this.add(id, f.sha256, f.path);
          if (data) this.hold(id, f.sha256, data);
          return f.sha256;
        },
        { yieldEvery: YIELD_EVERY },
      ),
    );
    return [...unread, ...taken.filter((sha) => sha !== null)];
  }

  private takeUnread(id: string, f: InPlaceFile, size: number): void {
    this.add(id, f.sha256, f.path);
    let m = this.unread.get(id);
    if (!m) this.unread.set(id, (m = new Map()));
    m.set(f.sha256, size);
  }

  /** takes for snapshot `id` every sha256 of `shas` that a verified file still holds (same stat as when it was hashed) */
  async adoptKnown(id: string, shas: string[]): Promise<void> {
    if (this.verified.size === 0) return;
    const candidates = shas.flatMap((sha) => {
      const path = this.verified.pathOf(sha);
      return path ? [[sha, path] as const] : [];
    });
    const stats = await statMany(candidates.map(([, path]) => path));
    candidates.forEach(([sha, path], i) => {
      const st = stats[i];
      const known = this.verified.get(path);
      if (st?.isFile() && known?.[1] === sha && statKey(st) === known[0]) this.add(id, sha, path);
    });
  }
}
