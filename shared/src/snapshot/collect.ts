/**
 * collectManifest: the client half of Save Model's first step. Walks a
 * workspace and lists the files to snapshot (path, sha256, size, mode), with
 * the git state. Node-only.
 *
 * Chosen files: everything but what `.gitignore` files (nested, git's
 * precedence: deeper and later rules win) and `.trainyardignore` files (same
 * syntax, winning over the .gitignore of their folder) exclude, and never
 * .git/, node_modules/, __pycache__/, .venv/, venv/, .ipynb_checkpoints/.
 * Symlinks are followed only inside the workspace (to a file: saved as that
 * file; to a folder: skipped with a warning, its real path is walked anyway);
 * one pointing outside, devices, FIFOs and sockets are refused, naming the file.
 * Secret guard: files whose name (SECRET_RULES) or content (secrets.ts:
 * private keys, AWS keys, tokens) looks like credentials are refused, naming
 * file and rule, unless a `!<pattern>` line in a .trainyardignore names them.
 * Modes are normalized like git's: 0755 if any execute bit, else 0644.
 */
import { createHash } from 'node:crypto';
import { lstat, open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import type { GitState } from '../schemas/models';
import type { SnapshotFile } from '../schemas/snapshots';
import { gitState } from './git';
import { mapLimit } from '../map-limit';
import { sortByUtf8 } from '../utf8-sort';
import { readSmallSync, SyncReads } from './small-read';
import { CONTENT_RULES, MAX_SCAN_BYTES, scanContent } from './secrets';
import { cacheFileName, defaultCacheDir, isCacheable, nowNs, readCacheFile, statKey, statsCacheable, writeCacheFile } from './hash-cache';
import { sha256Hex } from '../sha256';

export const ALWAYS_EXCLUDED = ['.git', 'node_modules', '__pycache__', '.venv', 'venv', '.ipynb_checkpoints'];

/** credential-looking files: [rule shown to the user, test on (workspace path, file name)] */
export const SECRET_RULES: Array<[string, (rel: string, name: string) => boolean]> = [
  ['.env, .env.* (dotenv files; .env.example/.sample/.template are fine)', (_r, n) => n === '.env' || (n.startsWith('.env.') && !/\.(example|sample|template|dist)$/.test(n))],
  ['*.pem, *.key, *.p12, *.pfx (keys and certificates)', (_r, n) => /\.(pem|key|p12|pfx)$/i.test(n)],
  ['id_rsa*, id_dsa*, id_ecdsa*, id_ed25519* (SSH private keys; *.pub is fine)', (_r, n) => /^id_(rsa|dsa|ecdsa|ed25519)/.test(n) && !n.endsWith('.pub')],
  ['.aws/credentials (AWS credentials)', (r) => r === '.aws/credentials' || r.endsWith('/.aws/credentials')],
  ['.docker/config.json (registry credentials)', (r) => r === '.docker/config.json' || r.endsWith('/.docker/config.json')],
  ['.netrc, .git-credentials, .pypirc (login files)', (_r, n) => n === '.netrc' || n === '.git-credentials' || n === '.pypirc'],
];

/** the rule a workspace path trips, or null */
export function secretRule(rel: string): string | null {
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  return SECRET_RULES.find(([, test]) => test(rel, name))?.[0] ?? null;
}

/** one refused secret: the workspace path, the 1-based line for a content hit, and the rule */
export interface SecretHit {
  file: string;
  line?: number;
  rule: string;
}

export class WorkspaceError extends Error {
  override name = 'WorkspaceError';
  /** set when the save was refused for secrets (editors open the file at the line) */
  constructor(message: string, readonly secrets?: SecretHit[]) {
    super(message);
  }
}

export interface CollectOptions {
  /** extra exclusions in .gitignore syntax, relative to the workspace */
  ignore?: string[];
  /** read the git state (default true) */
  git?: boolean;
  /**
   * where file hashes are remembered by stat (hash-cache.ts), so unchanged files are not read
   * again; default `${XDG_CACHE_HOME:-~/.cache}/trainyard/hash-cache`; false: no cache
   */
  hashCache?: string | false;
}

export interface CollectedManifest {
  /** the workspace's real path */
  root: string;
  /** sorted by path */
  files: SnapshotFile[];
  /** sha256 → absolute path of a file with that content */
  sources: Map<string, string>;
  totalBytes: number;
  git: GitState;
  warnings: string[];
}

interface Level {
  base: string; // workspace-relative folder ('' for the root)
  rules: Ignore[]; // .gitignore, then .trainyardignore
  allow: Ignore | null; // the "!" lines of .trainyardignore
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

async function loadLevel(abs: string, base: string): Promise<Level | null> {
  const [gi, ti] = await Promise.all([readText(join(abs, '.gitignore')), readText(join(abs, '.trainyardignore'))]);
  if (gi === null && ti === null) return null;
  const rules: Ignore[] = [];
  if (gi !== null) rules.push(ignore().add(gi));
  if (ti !== null) rules.push(ignore().add(ti));
  const allowLines = (ti ?? '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('!') && l.length > 1).map((l) => l.slice(1));
  return { base, rules, allow: allowLines.length ? ignore().add(allowLines) : null };
}

const under = (base: string, rel: string) => (base === '' ? rel : rel.slice(base.length + 1));

function isIgnored(levels: Level[], rel: string, isDir: boolean): boolean {
  let ignored = false;
  for (const lv of levels) {
    const p = under(lv.base, rel) + (isDir ? '/' : '');
    for (const ig of lv.rules) {
      const r = ig.test(p);
      if (r.ignored) ignored = true;
      else if (r.unignored) ignored = false;
    }
  }
  return ignored;
}

function isAllowed(levels: Level[], rel: string): boolean {
  return levels.some((lv) => lv.allow?.ignores(under(lv.base, rel)));
}

/** bump when what a cache entry means changes; the content rules are part of it (a "scanned" flag is only valid for them) */
const HASH_CACHE_VERSION = `1:${createHash('sha256').update(JSON.stringify([MAX_SCAN_BYTES, CONTENT_RULES.map(([n, re]) => [n, re.source, re.flags])])).digest('hex').slice(0, 16)}`;

/** per file: [statKey, sha256, size, scanned clean by the content rules] */
type HashCacheEntry = [string, string, number, boolean];

interface Hashed {
  sha256: string;
  size: number;
  /** a content-rule hit */
  secret: { rule: string; line: number } | null;
  /** the stat key to cache this under, when the file was stable and settled */
  cacheKey: string | null;
  scanned: boolean;
}

/** a file's sha256 and size, and the stat key to cache them under (null when it was not stable and settled) */
export function hashFile(path: string, startedNs: bigint, reads: SyncReads): Promise<Pick<Hashed, 'sha256' | 'size' | 'cacheKey'>> {
  return hashAndScan(path, false, startedNs, reads);
}

/**
 * Reads a file once: sha256 and, when `scan`, the secret scan (files up to MAX_SCAN_BYTES are
 * read whole, larger ones streamed). The fd's stat before and after says whether it may be cached.
 */
async function hashAndScan(path: string, scan: boolean, startedNs: bigint, reads: SyncReads): Promise<Hashed> {
  if (reads.blocking) {
    // a small file: blocking calls (small-read.ts: far cheaper than five thread-pool round trips)
    const small = readSmallSync(path, reads); // throws as open does (ENOENT, EACCES), or NotRegularFile
    if (small) {
      const { data } = small;
      const scanned = scan && data.length <= MAX_SCAN_BYTES;
      return {
        sha256: sha256Hex(data),
        size: data.length,
        secret: scanned ? scanContent(data) : null,
        scanned,
        cacheKey: statsCacheable(small.before, small.after, startedNs) && Number(small.before.size) === data.length ? statKey(small.before) : null,
      };
    }
  }
  const fh = await open(path, 'r');
  try {
    const before = statKey(await fh.stat({ bigint: true }));
    const h = createHash('sha256');
    let size = 0;
    let secret: Hashed['secret'] = null;
    let scanned = false;
    const declared = Number(before.split(':')[0]);
    if (declared <= MAX_SCAN_BYTES) {
      const data = await fh.readFile();
      h.update(data);
      size = data.length;
      if (scan && data.length <= MAX_SCAN_BYTES) {
        secret = scanContent(data);
        scanned = true;
      }
    } else {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        size += bytesRead;
      }
    }
    const after = statKey(await fh.stat({ bigint: true }));
    return { sha256: h.digest('hex'), size, secret, scanned, cacheKey: isCacheable(before, after, startedNs) && Number(before.split(':')[0]) === size ? before : null };
  } finally {
    await fh.close();
  }
}

export async function collectManifest(dir: string, opts: CollectOptions = {}): Promise<CollectedManifest> {
  let root: string;
  try {
    root = await realpath(dir);
    if (!(await stat(root)).isDirectory()) throw new Error('not a folder');
  } catch (err) {
    throw new WorkspaceError(`cannot read the workspace ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const extra = opts.ignore?.length ? [{ base: '', rules: [ignore().add(opts.ignore)], allow: null }] : [];
  const startedNs = nowNs();
  const gitP = opts.git === false ? Promise.resolve({ sha: null, dirty: false, branch: null }) : gitState(root);
  gitP.catch(() => undefined);
  let found: Array<{ rel: string; abs: string; size: number; mode: number; allowed: boolean; key: string }> = [];
  const warnings: string[] = [];
  const refused: string[] = [];
  const secrets: string[] = [];
  const secretHits: SecretHit[] = [];

  const walk = async (abs: string, rel: string, levels: Level[]): Promise<void> => {
    const [own, listed] = await Promise.all([loadLevel(abs, rel), readdir(abs)]);
    const here = own ? [...levels, own] : levels;
    const rules = [...here, ...extra];
    const names = listed.filter((n) => !ALWAYS_EXCLUDED.includes(n)).sort();
    // a folder's entries are stat'ed together (one at a time, each waited on a thread-pool trip)
    const stats = await Promise.all(names.map((n) => lstat(join(abs, n), { bigint: true })));
    for (const [i, name] of names.entries()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const childAbs = join(abs, name);
      const st = stats[i];
      let target = st;
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = await realpath(childAbs);
        } catch {
          if (!isIgnored(rules, childRel, false)) warnings.push(`skipped ${childRel}: a broken symlink`);
          continue;
        }
        const r = relative(root, real);
        if (r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r)) {
          if (!isIgnored(rules, childRel, false)) refused.push(`${childRel} is a symlink to ${real}, outside the workspace: copy the file in, or add it to .trainyardignore`);
          continue;
        }
        target = await stat(real, { bigint: true });
        if (target.isDirectory()) {
          if (!isIgnored(rules, childRel, true)) warnings.push(`skipped ${childRel}: a symlink to the folder ${r} (saved from its real path)`);
          continue;
        }
      }
      if (target.isDirectory()) {
        if (!isIgnored(rules, childRel, true)) await walk(childAbs, childRel, here);
        continue;
      }
      if (isIgnored(rules, childRel, false)) continue;
      if (!target.isFile()) {
        const kind = target.isFIFO() ? 'a FIFO' : target.isSocket() ? 'a socket' : target.isCharacterDevice() || target.isBlockDevice() ? 'a device file' : 'not a regular file';
        refused.push(`${childRel} is ${kind}: add it to .trainyardignore`);
        continue;
      }
      const secret = secretRule(childRel);
      if (secret && !isAllowed(here, childRel)) {
        secrets.push(`${childRel} (rule ${secret})`);
        secretHits.push({ file: childRel, rule: secret });
        continue;
      }
      found.push({ rel: childRel, abs: childAbs, size: Number(target.size), mode: Number(target.mode) & 0o111 ? 0o755 : 0o644, allowed: isAllowed(here, childRel), key: statKey(target) });
    }
  };
  await walk(root, '', []);

  if (secrets.length) {
    throw new WorkspaceError(
      `refusing to save what looks like secrets: ${secrets.join('; ')}. Remove them, exclude them in .gitignore or .trainyardignore, or allow one on purpose with a "!<path>" line in .trainyardignore`,
      secretHits,
    );
  }
  if (refused.length) throw new WorkspaceError(`cannot save the workspace: ${refused.join('; ')}`);

  // one read per changed file: the content scan and the hash; unchanged files (same stat) come from the hash cache
  const cacheDir = opts.hashCache === false ? null : (opts.hashCache ?? defaultCacheDir('hash-cache'));
  const cacheFile = cacheDir ? join(cacheDir, cacheFileName(root)) : null;
  const cached = cacheFile ? ((await readCacheFile<Record<string, HashCacheEntry>>(cacheFile, HASH_CACHE_VERSION)) ?? {}) : {};
  const nextCache: Record<string, HashCacheEntry> = {};
  let changed = false;
  found = sortByUtf8(found, (f) => f.rel);
  const reads = new SyncReads();
  // small files are read with blocking calls: the event loop gets a turn every 128 files
  const hashed = await mapLimit(found, 8, async (f): Promise<{ sha256: string; size: number; secret?: string }> => {
    const scan = !f.allowed && f.size <= MAX_SCAN_BYTES;
    const hit = cached[f.abs];
    if (hit && hit[0] === f.key && (hit[3] || !scan)) {
      nextCache[f.abs] = hit;
      return { sha256: hit[1], size: hit[2] };
    }
    changed = true;
    let r: Hashed;
    try {
      r = await hashAndScan(f.abs, scan, startedNs, reads);
    } catch (err) {
      throw new WorkspaceError(`cannot read ${f.rel}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (r.secret) {
      secretHits.push({ file: f.rel, line: r.secret.line, rule: r.secret.rule });
      return { sha256: r.sha256, size: r.size, secret: `${f.rel} line ${r.secret.line} (rule ${r.secret.rule})` };
    }
    if (r.cacheKey) nextCache[f.abs] = [r.cacheKey, r.sha256, r.size, r.scanned];
    return { sha256: r.sha256, size: r.size };
  }, { yieldEvery: 128 });
  for (const h of hashed) if (h.secret) secrets.push(h.secret);
  if (secrets.length) {
    throw new WorkspaceError(
      `refusing to save what looks like secrets: ${secrets.join('; ')}. Remove them, exclude the files in .gitignore or .trainyardignore, or allow one on purpose with a "!<path>" line in .trainyardignore`,
      secretHits.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)),
    );
  }

  const files: SnapshotFile[] = [];
  const sources = new Map<string, string>();
  let totalBytes = 0;
  found.forEach((f, i) => {
    const { sha256, size } = hashed[i];
    files.push({ path: f.rel, sha256, size, mode: f.mode });
    if (!sources.has(sha256)) sources.set(sha256, f.abs);
    totalBytes += size;
  });
  if (cacheFile && cacheDir && (changed || Object.keys(cached).length !== Object.keys(nextCache).length)) await writeCacheFile(cacheFile, cacheDir, HASH_CACHE_VERSION, nextCache);
  const git = await gitP;
  return { root, files, sources, totalBytes, git, warnings };
}
