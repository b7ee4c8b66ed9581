/**
 * captureEnvironment: the Python environment of a chosen interpreter, from a
 * small stdlib-only script run by that interpreter: version, implementation,
 * sys.platform, machine, ABI tag (sysconfig SOABI, e.g.
 * cpython-311-x86_64-linux-gnu) and the installed distributions
 * (importlib.metadata) with versions and, for the `copy` strategy, the files
 * their RECORD lists that lie inside their site directory (no scripts in
 * ../../bin, no *.pyc: they are rebuilt), each with size and mode, and the sha256
 * of those over SYNC_MAX; the small ones are hashed here, as workspace files are
 * (hashListed). Those files are uploaded like workspace files; `sources` maps
 * their sha256 to the absolute path. Node-only.
 *
 * The result is cached (`${XDG_CACHE_HOME:-~/.cache}/trainyard/env-cache`, per
 * interpreter and mode) with the stat keys (hash-cache.ts) of everything it was
 * read from: the interpreter, its pyvenv.cfg, every sys.path entry and the *.pth
 * files in them (a distribution installed or removed changes its folder), every
 * distribution's metadata folder and the files in it, and every listed file. A
 * later capture stats those paths and reuses the result only when every key is
 * unchanged; else the interpreter runs again. Keys that were not stable while
 * read, or too recent (RACY_MS), make the result uncacheable. A reused result
 * is its digest and summary until the save needs the environment itself
 * (CapturedEnvironment.load; EnvCacheHead says why).
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { EnvironmentFile, SnapshotEnvironment } from '../schemas/snapshots';
import { cacheFileName, defaultCacheDir, isSettled, nowNs, readCacheFile, statKey, writeCacheFile } from './hash-cache';
import { statMany } from './stat-many';
import { hashFile } from './collect';
import { SYNC_MAX, SyncReads } from './small-read';
import { mapLimit } from '../map-limit';
import { environmentDigest } from './environment-digest';

export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

const SCRIPT = String.raw`
import csv, hashlib, importlib.metadata as md, json, os, platform, stat, sys, sysconfig, time
started_ns = time.time_ns()
with_files = sys.argv[1] == "1"
big = int(sys.argv[2]) if len(sys.argv) > 2 else 0
def stat_key(p):
    try:
        st = os.stat(p)
    except OSError:
        return None
    return "%d:%d:%d:%d:%d" % (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
def listed(d):
    # a wheel's RECORD read as importlib.metadata reads it (csv), without a path object per file; else what it lists
    text = d.read_text("RECORD")
    if text is None:
        return [str(p) for p in d.files or []]
    return [row[0] for row in csv.reader(text.splitlines()) if row]
watch = {}
def watch_path(p):
    p = os.path.abspath(p)
    if p not in watch:
        watch[p] = stat_key(p)
watch_path(sys.executable)
watch_path(os.path.join(sys.prefix, "pyvenv.cfg"))
for entry in sys.path:
    if not entry:
        continue
    watch_path(entry)
    try:
        for e in os.scandir(entry):
            if e.name.endswith(".pth"):
                watch_path(e.path)
    except OSError:
        pass
out = {"python": platform.python_version(), "implementation": sys.implementation.name,
       "platform": sys.platform, "machine": platform.machine(), "abi": sysconfig.get_config_var("SOABI") or "",
       "distributions": []}
seen = set()
for d in md.distributions():
    meta = getattr(d, "_path", None)
    if meta is None:
        watch["?"] = None  # not a folder distribution: uncacheable
    else:
        watch_path(str(meta))
        try:
            for e in os.scandir(str(meta)):
                watch_path(e.path)
        except OSError:
            pass
    name = d.metadata["Name"]
    if not name:
        continue
    key = name.lower().replace("_", "-").replace(".", "-")
    if key in seen:
        continue  # shadowed by an earlier sys.path entry, as import would
    seen.add(key)
    entry = {"name": name, "version": d.version}
    if with_files:
        root = str(d.locate_file(""))
        inside = os.path.join(os.path.realpath(root), "")
        files = []
        real_dirs = {}
        for p in listed(d):
            # realpath of the folder once per folder (it lstats every part of the path), then the file's own link if any
            folder, leaf = os.path.split(os.path.join(root, p))
            if folder not in real_dirs:
                real_dirs[folder] = os.path.realpath(folder)
            full = os.path.join(real_dirs[folder], leaf)
            try:
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    full = os.path.realpath(full)
                    st = os.stat(full)
            except OSError:
                continue
            if not full.startswith(inside) or full.endswith(".pyc") or not stat.S_ISREG(st.st_mode):
                continue
            rel = full[len(inside):]
            f = {"path": rel.replace(os.sep, "/"), "size": st.st_size, "mode": 0o755 if st.st_mode & 0o111 else 0o644, "abs": full}
            if st.st_size > big:
                # a big file is hashed here, beside the caller's work; small ones by the caller (blocking reads: far cheaper than here)
                h = hashlib.sha256()
                before = stat_key(full)
                with open(full, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                after = stat_key(full)
                f.update({"sha256": h.hexdigest(), "size": os.stat(full).st_size, "key": before if before == after else None})
            files.append(f)
        entry["files"] = sorted(files, key=lambda f: f["path"])
    out["distributions"].append(entry)
out["distributions"].sort(key=lambda d: d["name"].lower())
out["watch"] = watch
out["started_ns"] = str(started_ns)
print(json.dumps(out))
`;

/** the environment, its files' sources and size */
export interface LoadedEnvironment {
  environment: SnapshotEnvironment;
  /** sha256 → absolute path, for the uploads */
  sources: Map<string, string>;
  totalBytes: number;
}

/** what a save says of an environment before it needs the rest */
export interface EnvironmentSummary {
  python: string;
  abi: string;
  platform: string;
  distributions: number;
}

export interface CapturedEnvironment {
  summary: EnvironmentSummary;
  /** environmentDigest of the environment (environment-digest.ts) */
  digest: string;
  /** unchanged since it was last captured (taken from the cache): a backend saved with it before likely has it */
  cached?: boolean;
  /**
   * The environment itself. A fresh capture has it in memory; a cached one reads it from the
   * cache on the first call (a large environment's is megabytes, and a save that sends the
   * digest seldom needs it). Its digest is `digest`, or it rejects (EnvironmentError).
   */
  load(): Promise<LoadedEnvironment>;
}

/** a file as the script lists it (path, size, mode, abs), then hashed here (sha256, and the stat key it had when hashed) */
type RawFile = EnvironmentFile & { abs?: string; key?: string | null };
type RawEnvironment = SnapshotEnvironment & {
  distributions: Array<{ files?: RawFile[] }>;
  watch?: Record<string, string | null>;
  started_ns?: string;
};

const ENV_CACHE_VERSION = `2:${createHash('sha256').update(SCRIPT).digest('hex').slice(0, 16)}`;

/**
 * A remembered capture is two files: the environment (`<name>.json`, EnvCacheEntry) and what a
 * later save checks first (`<name>.watch`, EnvCacheHead): the paths it was read from with their
 * stats, its digest and summary. An unchanged environment costs a stat per path and the head's
 * two flat lists, not the parse of every file's record. Both carry the capture's `id`: the
 * environment is written first, and one of another capture (a save racing this one) is not used.
 */
interface EnvCacheEntry {
  id: string;
  raw: RawEnvironment;
}
interface EnvCacheHead {
  id: string;
  /** the strategy the digest is of (it is part of the environment) */
  strategy: 'copy' | 'install' | null;
  digest: string;
  summary: EnvironmentSummary;
  /** every path the capture depends on */
  paths: string[];
  /**
   * per path, STAT_FIELDS numbers of Node's number stat of it as it was read (all -1: it did not
   * exist). Compared as numbers, a check of 20,000 paths makes no BigInt and no key string: it
   * costs about half the time and a fifth of the garbage of the stat keys (hash-cache.ts).
   */
  stats: number[];
}

/** a head as this version writes it (a cache file is read back as untrusted: anything else is a miss) */
function isHead(h: EnvCacheHead | null): h is EnvCacheHead {
  const s = h?.summary;
  return (
    !!h && typeof h.id === 'string' && typeof h.digest === 'string' && /^[0-9a-f]{64}$/.test(h.digest) &&
    !!s && typeof s.python === 'string' && typeof s.abi === 'string' && typeof s.platform === 'string' && Number.isInteger(s.distributions) &&
    Array.isArray(h.paths) && Array.isArray(h.stats) && h.stats.length === h.paths.length * STAT_FIELDS
  );
}

const STAT_FIELDS = 5;
const statNumbers = (st: Stats | null): number[] => (st ? [st.size, st.mtimeMs, st.ctimeMs, st.ino, st.dev] : [-1, -1, -1, -1, -1]);

async function keyOf(path: string): Promise<string | null> {
  try {
    return statKey(await stat(path, { bigint: true }));
  } catch {
    return null;
  }
}

/** every path of the head still has the stat it had when the environment was read (stat-many.ts: blocking calls in slices) */
async function stillValid(head: EnvCacheHead): Promise<boolean> {
  const { paths, stats } = head;
  let changed = false;
  await statMany(paths, {
    numbers: true,
    stop: (st, i) => {
      const at = i * STAT_FIELDS;
      changed = st ? st.size !== stats[at] || st.mtimeMs !== stats[at + 1] || st.ctimeMs !== stats[at + 2] || st.ino !== stats[at + 3] || st.dev !== stats[at + 4] : stats[at] !== -1;
      return changed;
    },
  });
  return !changed;
}

/**
 * Whether a number stat shows the state a stat key (nanoseconds, hash-cache.ts) was taken of: same
 * size, inode and device, and times within a microsecond (a double of milliseconds holds them to
 * about 0.25 µs). A file changed since has a ctime of then, and a cached result's keys are settled
 * (RACY_MS older than the capture), so a change always shows.
 */
function showsKey(st: Stats | null, key: string | null): boolean {
  if (!st || key === null) return !st && key === null;
  const [size, mtimeNs, ctimeNs, ino, dev] = key.split(':');
  return (
    st.size === Number(size) &&
    st.ino === Number(ino) &&
    st.dev === Number(dev) &&
    Math.abs(st.mtimeMs - Number(mtimeNs) / 1e6) < 1e-3 &&
    Math.abs(st.ctimeMs - Number(ctimeNs) / 1e6) < 1e-3
  );
}

/** the number stats of the watched paths, taken now, or null when one no longer shows the stat key it was read under */
async function statsAsRead(watch: Record<string, string | null>): Promise<{ paths: string[]; stats: number[] } | null> {
  const paths = Object.keys(watch);
  let moved = false;
  const numbers = await statMany(paths, { numbers: true, stop: (st, i) => (moved = !showsKey(st, watch[paths[i]])) });
  return moved ? null : { paths, stats: numbers.flatMap(statNumbers) };
}

/** the paths and keys a result depends on, or null when it must not be cached */
function watchList(raw: RawEnvironment, pythonKeys: Record<string, string | null>, startedNs: bigint): Record<string, string | null> | null {
  if (!raw.watch || '?' in raw.watch || !raw.started_ns) return null;
  const watch: Record<string, string | null> = { ...pythonKeys, ...raw.watch };
  for (const d of raw.distributions) {
    for (const f of d.files ?? []) {
      if (!f.abs || !f.key) return null;
      watch[f.abs] = f.key;
    }
  }
  let pyStarted: bigint;
  try {
    pyStarted = BigInt(raw.started_ns);
  } catch {
    return null;
  }
  const since = pyStarted < startedNs ? pyStarted : startedNs;
  for (const k of Object.values(watch)) if (k !== null && !isSettled(k, since)) return null;
  return watch;
}

function toLoaded(raw: RawEnvironment, strategy: 'copy' | 'install' | undefined): LoadedEnvironment {
  const sources = new Map<string, string>();
  let totalBytes = 0;
  const distributions = raw.distributions.map((d) => ({
    ...d,
    ...(d.files
      ? {
          files: (d.files as Array<(typeof d.files)[number] & RawFile>).map((f) => {
            if (f.abs && !sources.has(f.sha256)) sources.set(f.sha256, f.abs);
            totalBytes += f.size;
            const { abs: _abs, key: _key, ...rest } = f;
            return rest;
          }),
        }
      : {}),
  }));
  const { watch: _w, started_ns: _s, ...env } = raw;
  return { environment: { ...env, distributions, ...(strategy ? { strategy } : {}) } as SnapshotEnvironment, sources, totalBytes };
}

const summaryOf = (e: SnapshotEnvironment): EnvironmentSummary => ({ python: e.python, abi: e.abi, platform: e.platform, distributions: e.distributions.length });

/** a capture made now: everything in memory */
function captured(loaded: LoadedEnvironment): CapturedEnvironment {
  return { summary: summaryOf(loaded.environment), digest: environmentDigest(loaded.environment), load: () => Promise.resolve(loaded) };
}

/**
 * Hashes the small files the script listed (it hashes those over SYNC_MAX itself, in its own
 * process, beside this one's work), as the workspace's are (collect.ts hashFile: blocking reads),
 * each with the stat key it had while read when that was stable and settled. A file gone or
 * changed into something else since it was listed is left out (and the result is not cached).
 */
async function hashListed(raw: RawEnvironment, startedNs: bigint, previous?: RawEnvironment): Promise<void> {
  const reads = new SyncReads();
  // what the last capture hashed, by path: a file with the stat key it had then is not read again (pip installed one more package)
  const before = new Map<string, RawFile>();
  for (const d of previous?.distributions ?? []) for (const f of (d.files ?? []) as RawFile[]) if (f.abs && f.key) before.set(f.abs, f);
  for (const d of raw.distributions) {
    if (!d.files) continue;
    const files = d.files as RawFile[];
    const known = before.size ? await statMany(files.map((f) => f.abs ?? '')) : [];
    const hashed = await mapLimit(
      files,
      8,
      (f, i) => {
        if (f.sha256) return Promise.resolve({ sha256: f.sha256, size: f.size, cacheKey: f.key ?? null }); // hashed by the script
        const old = f.abs ? before.get(f.abs) : undefined;
        const st = known[i];
        if (old && st && statKey(st) === old.key) return Promise.resolve({ sha256: old.sha256, size: old.size, cacheKey: old.key });
        return f.abs ? hashFile(f.abs, startedNs, reads).catch(() => null) : Promise.resolve(null);
      },
      { yieldEvery: 128 },
    );
    let gone = false;
    d.files = files.flatMap((f, i) => {
      const h = hashed[i];
      if (!h) return (gone = true), [];
      return [{ ...f, sha256: h.sha256, size: h.size, key: h.cacheKey }];
    });
    if (gone) raw.watch = { ...raw.watch, '?': null }; // uncacheable: the environment was changing
  }
}

function runScript(python: string, withFiles: boolean): Promise<RawEnvironment> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-I', '-B', '-c', SCRIPT, withFiles ? '1' : '0', String(SYNC_MAX)], { maxBuffer: 256 << 20, timeout: 120_000, env: { ...process.env, PYTHONIOENCODING: 'utf-8' } }, (err, stdout, stderr) => {
      if (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (stderr.trim().split('\n').pop() ?? err.message);
        reject(new EnvironmentError(`cannot read the Python environment of ${python}: ${why}; pass --python with the interpreter your code runs with`));
        return;
      }
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new EnvironmentError(`${python} printed something that is not the environment JSON: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

export async function captureEnvironment(
  python: string,
  opts: { files?: boolean; strategy?: 'copy' | 'install'; /** default `${XDG_CACHE_HOME:-~/.cache}/trainyard/env-cache`; false: no cache */ cache?: string | false } = {},
): Promise<CapturedEnvironment> {
  const withFiles = opts.files ?? opts.strategy !== 'install';
  const cacheDir = opts.cache === false ? null : (opts.cache ?? defaultCacheDir('env-cache'));
  // a bare name is looked up on PATH: the PATH is part of what picks the interpreter
  const who = python.includes('/') ? resolve(python) : `${python}\0${process.env.PATH ?? ''}`;
  const cacheFile = cacheDir ? join(cacheDir, cacheFileName(who, withFiles ? 'files' : 'names')) : null;
  const headFile = cacheFile?.replace(/\.json$/, '.watch');
  if (cacheFile && headFile) {
    const head = await readCacheFile<EnvCacheHead>(headFile, ENV_CACHE_VERSION);
    if (isHead(head) && head.strategy === (opts.strategy ?? null) && (await stillValid(head))) {
      let loading: Promise<LoadedEnvironment> | undefined;
      const load = async () => {
        const entry = await readCacheFile<EnvCacheEntry>(cacheFile, ENV_CACHE_VERSION);
        // the environment of another capture (written by a save racing this one), or none: read again
        const loaded = entry?.id === head.id ? toLoaded(entry.raw, opts.strategy) : await (await fresh(python, opts.strategy, withFiles, cacheFile, headFile, undefined)).load();
        if (environmentDigest(loaded.environment) !== head.digest) throw new EnvironmentError(`the Python environment of ${python} changed while saving; save again`);
        return loaded;
      };
      return { summary: head.summary, digest: head.digest, cached: true, load: () => (loading ??= load()) };
    }
  }
  // what the last capture hashed (hashListed reuses a file's sha256 while its stat key is the same)
  const previous = cacheFile && withFiles ? (await readCacheFile<EnvCacheEntry>(cacheFile, ENV_CACHE_VERSION))?.raw : undefined;
  return fresh(python, opts.strategy, withFiles, cacheFile, headFile, previous);
}

/** runs the interpreter's script, hashes the files it lists, and remembers the result when it may */
async function fresh(python: string, strategy: 'copy' | 'install' | undefined, withFiles: boolean, cacheFile: string | null, headFile: string | undefined, previous: RawEnvironment | undefined): Promise<CapturedEnvironment> {
  const startedNs = nowNs();
  const pythonKeys: Record<string, string | null> = python.includes('/') ? { [resolve(python)]: await keyOf(resolve(python)) } : {};
  const raw = await runScript(python, withFiles);
  if (withFiles) await hashListed(raw, startedNs, previous);
  const result = captured(toLoaded(raw, strategy));
  const watch = cacheFile && headFile ? watchList(raw, pythonKeys, startedNs) : null;
  const asRead = watch ? await statsAsRead(watch) : null;
  if (asRead && cacheFile && headFile) {
    const dir = dirname(cacheFile);
    const id = randomUUID();
    // the environment first: a head is only ever read with the environment it names beside it
    await writeCacheFile(cacheFile, dir, ENV_CACHE_VERSION, { id, raw } satisfies EnvCacheEntry);
    await writeCacheFile(headFile, dir, ENV_CACHE_VERSION, { id, strategy: strategy ?? null, digest: result.digest, summary: result.summary, ...asRead } satisfies EnvCacheHead);
  }
  return result;
}
