/**
 * saveWorkspace: Save Model from the client side (the CLI's `trainyard save`,
 * later the editors). Collect the manifest, POST it, upload only the blobs
 * the backend says it lacks (re-hashing each file as it is read, so a file
 * edited mid-save is caught), then ask for the build. Node-only.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { TrainyardClient } from '../client';
import type { Entrypoints, Version } from '../schemas/models';
import type { SnapshotFile } from '../schemas/snapshots';
import { MAX_IN_PLACE_FILES } from './in-place';
import { collectManifest, WorkspaceError, type CollectedManifest, type CollectOptions } from './collect';
import { NOTEBOOK_SCRIPT_DIR, notebookOf, notebookToScript } from './notebook';
import { captureEnvironment, type CapturedEnvironment } from './environment';
import { timeStage } from './stages';
import { sortByUtf8 } from '../utf8-sort';
import { sha256Hex } from '../sha256';

export interface SaveOptions {
  dir: string;
  model: string;
  version?: string;
  baseImage?: string;
  entrypoints?: Entrypoints;
  /** one human-readable line per step */
  onProgress?: (message: string) => void;
  /** extra exclusions (.gitignore syntax) */
  ignore?: CollectOptions['ignore'];
  /** the Python interpreter whose environment goes into the dependency layer (none: no environment is sent) */
  python?: string;
  /** dependency strategy; default copy (install: the backend pip-installs the pinned delta inside the base image; no files are sent) */
  strategy?: 'copy' | 'install';
  /** a smoke command run inside the new image before the version is recorded (a failure leaves no version) */
  selfTest?: string;
  /**
   * let a backend on this machine (Snapshot.localFiles) read the files in place instead of
   * receiving them (default true; false: always upload)
   */
  localFiles?: boolean;
  /** parallel uploads (default 4) */
  concurrency?: number;
  /**
   * where file hashes and the captured environment are remembered by stat (hash-cache.ts), so
   * a re-save reads only what changed: default `${XDG_CACHE_HOME:-~/.cache}/trainyard`; false: no caches
   */
  cacheDir?: string | false;
}

export interface SaveResult {
  version: Version;
  uploadedFiles: number;
  uploadedBytes: number;
  /** files the backend read in place instead (the local fast path) */
  localFiles: number;
  /** distinct files (by content) the save offered from this machine: the workspace's, and the environment's unless it went by its digest alone */
  totalFiles: number;
  durationMs: number;
}

/**
 * What a save needs of the API client. With `onThisMachine` (the backend's URL is a loopback host),
 * the manifest goes with where each file is, and a backend on this machine reads them in place;
 * `useLocalFiles` offers them after the fact to a backend that says it can (Snapshot.localFiles).
 */
export type SaveClient = Pick<TrainyardClient, 'createSnapshot' | 'putBlob' | 'buildSnapshot'> & Partial<Pick<TrainyardClient, 'events' | 'useLocalFiles' | 'inspectBaseImage' | 'onThisMachine'>>;

/** train = python train.py, predict = python predict.py when those files are saved; given ones win */
export function defaultEntrypoints(files: SnapshotFile[], given: Entrypoints = {}): Entrypoints {
  const has = new Set(files.map((f) => f.path));
  const out: Entrypoints = {};
  if (!given.train && has.has('train.py')) out.train = 'python train.py';
  if (!given.predict && has.has('predict.py')) out.predict = 'python predict.py';
  Object.assign(out, given);
  if (!out.train) throw new WorkspaceError("no train entrypoint: pass --entrypoint train='python my_script.py'");
  return out;
}

/** a base image given as a relative layout path (./dir, oci:../dir:tag) is made absolute: the backend has another cwd */
export function absoluteBase(ref: string): string {
  const m = /^(oci-layout:|oci:)?(\.\.?\/[^:]*)(:.*)?$/.exec(ref);
  return m ? `${m[1] ?? ''}${resolve(m[2])}${m[3] ?? ''}` : ref;
}

/** each notebook entrypoint becomes a generated script file (notebook.ts), added to the manifest; its folder goes into `scratch` */
async function convertNotebooks(m: CollectedManifest, entrypoints: Entrypoints, say: (msg: string) => void, scratch: string[]): Promise<void> {
  for (const [name, command] of Object.entries(entrypoints)) {
    const nb = notebookOf(command);
    if (!nb) continue;
    const abs = join(m.root, nb);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch {
      throw new WorkspaceError(`entrypoint ${name}: notebook ${nb} is not in the workspace`);
    }
    const script = Buffer.from(notebookToScript(text, nb));
    const path = `${NOTEBOOK_SCRIPT_DIR}/${name}.py`;
    const dir = await mkdtemp(join(tmpdir(), 'trainyard-nb-'));
    scratch.push(dir);
    const file = join(dir, `${name}.py`);
    await writeFile(file, script);
    const sha256 = sha256Hex(script);
    m.files = m.files.filter((f) => f.path !== path);
    m.files.push({ path, sha256, size: script.length, mode: 0o644 });
    m.files = sortByUtf8(m.files, (f) => f.path);
    if (!m.sources.has(sha256)) m.sources.set(sha256, file);
    entrypoints[name] = `python ${path}`;
    say(`entrypoint ${name}: ${nb} becomes ${path}`);
  }
}

/**
 * the backend lacks the environment named by digest (409 environmentUnknown), or refused the request
 * (400: an older backend does not know the field; anything else wrong is said again by the retry)
 */
function isUnknownEnvironment(err: unknown): boolean {
  const e = err as { status?: number; details?: { environmentUnknown?: unknown } } | null;
  return !!e && ((e.status === 409 && e.details?.environmentUnknown === true) || e.status === 400);
}

const fmtBytes = (n: number) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);

/**
 * Builds, and while the build runs relays its steps (the backend streams them as `snapshot`
 * events with `progress`) to `say`. The build's answer waits for its end (buildSnapshot: up to
 * 20 s); for a longer build, the same events end the wait between the status reads as soon as it
 * has ended. Both are best-effort: a client without events, or a dropped stream, still gets the
 * build's answer by reading its status. With no one to tell the steps to (`say` null: --json, the
 * bench), there is no event stream: the answer that waits is enough.
 */
async function followBuild(client: SaveClient, id: string, say: ((msg: string) => void) | null): Promise<Version> {
  if (!client.events || !say) return client.buildSnapshot(id);
  const abort = new AbortController();
  let subscribed!: () => void;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  // the build's end as events tell it, and the pause to cut short then
  const end: { seen: boolean; wake: (() => void) | null } = { seen: false, wake: null };
  const relay = (async () => {
    try {
      for await (const e of client.events!({ signal: abort.signal, onOpen: subscribed })) {
        if (e.kind !== 'snapshot' || e.data.id !== id) continue;
        if (e.data.progress) say(e.data.progress);
        if (e.data.status === 'built' || e.data.status === 'failed') {
          end.seen = true;
          end.wake?.();
        }
      }
    } catch {
      /* aborted, or no event stream: the status reads go on at their own pace */
    } finally {
      subscribed();
    }
  })();
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (end.seen) {
        end.seen = false; // one read at once per event: never a busy loop of reads
        return resolve();
      }
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        end.wake = null;
        resolve();
      }
      end.wake = done;
    });
  // subscribed before the build starts (or 2 s passed); the timer is cleared so it cannot hold the process open
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([ready, new Promise((r) => (timer = setTimeout(r, 2000)))]);
  clearTimeout(timer);
  try {
    return await client.buildSnapshot(id, { wait });
  } finally {
    abort.abort();
    await relay;
  }
}

export async function saveWorkspace(client: SaveClient, opts: SaveOptions): Promise<SaveResult> {
  const scratch: string[] = [];
  try {
    return await save(client, opts, scratch);
  } finally {
    // the notebooks' scripts: uploaded, or read in place by the build, by the time the save ends
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

async function save(client: SaveClient, opts: SaveOptions, scratch: string[]): Promise<SaveResult> {
  const started = Date.now();
  const say = opts.onProgress ?? (() => undefined);
  say(`collecting files in ${opts.dir}`);
  const caches = opts.cacheDir === false ? { hashCache: false as const, cache: false as const } : opts.cacheDir ? { hashCache: join(opts.cacheDir, 'hash-cache'), cache: join(opts.cacheDir, 'env-cache') } : {};
  // the backend reads the base image (what Python it has, which python3 the version links to) while
  // this side hashes; the snapshot and its build then find the answer remembered (a failure here is
  // reported again, in words, by createSnapshot or the build)
  if (opts.baseImage && client.inspectBaseImage) {
    void timeStage('inspect base (overlapped)', () => client.inspectBaseImage!(absoluteBase(opts.baseImage!))).catch(() => undefined);
  }
  // the interpreter runs while the workspace is walked (its errors are reported after the workspace's)
  const envP = opts.python ? captureEnvironment(opts.python, { strategy: opts.strategy, ...('cache' in caches ? { cache: caches.cache } : {}) }) : null;
  envP?.catch(() => undefined);
  const m = await timeStage('hash (collect)', () => collectManifest(opts.dir, { ignore: opts.ignore, ...('hashCache' in caches ? { hashCache: caches.hashCache } : {}) }), (r) => r.totalBytes);
  for (const w of m.warnings) say(`warning: ${w}`);
  const entrypoints = defaultEntrypoints(m.files, opts.entrypoints);
  await convertNotebooks(m, entrypoints, say, scratch);
  const gitNote = m.git.sha ? `git ${m.git.sha.slice(0, 12)}${m.git.dirty ? ' (uncommitted changes)' : ''}` : 'no git';
  say(`${m.files.length} files, ${fmtBytes(m.totalBytes)}, ${gitNote}`);

  let env: CapturedEnvironment | null = null;
  /** the environment's own files (not also workspace files), once its files are known */
  const envOnly = new Set<string>();
  let envFilesKnown = false;
  /** the environment's files join the workspace's sources (read from the cache for a remembered environment: only when needed) */
  const knowEnvFiles = async () => {
    if (!env || envFilesKnown) return;
    envFilesKnown = true;
    for (const [sha, path] of (await env.load()).sources) {
      if (m.sources.has(sha)) continue;
      m.sources.set(sha, path);
      envOnly.add(sha);
    }
  };
  if (opts.python) {
    say(`reading the Python environment of ${opts.python}`);
    env = await timeStage('environment', () => envP!);
    const e = env.summary;
    say(`Python ${e.python} (${e.abi || e.platform}), ${e.distributions} distributions`);
  }

  // an environment unchanged since the last save goes by its digest (it lists every installed file:
  // megabytes for a large one), with no paths for its files; a backend that lacks it says so, and gets it whole
  let byDigest = !!env?.cached;
  if (!byDigest) await knowEnvFiles();
  // the backend on this machine reads the files in place (verifying each hash) instead of receiving them
  const onThisMachine = opts.localFiles !== false && client.onThisMachine === true;
  const offered = () => (onThisMachine ? [...m.sources].filter(([sha]) => !(byDigest && envOnly.has(sha))) : []);
  let sent = offered();
  if (sent.length > MAX_IN_PLACE_FILES) sent = []; // too many for one request: offered after the manifest, in parts
  const create = async () => client.createSnapshot({
    model: opts.model,
    ...(opts.version !== undefined ? { version: opts.version } : {}),
    ...(opts.baseImage !== undefined ? { baseImage: absoluteBase(opts.baseImage) } : {}),
    files: m.files,
    entrypoints,
    git: { sha: m.git.sha, dirty: m.git.dirty, ...(m.git.branch ? { branch: m.git.branch.slice(0, 255) } : {}) },
    ...(env ? (byDigest ? { environmentDigest: env.digest } : { environment: (await env.load()).environment }) : {}),
    ...(opts.selfTest !== undefined ? { selfTest: opts.selfTest } : {}),
    ...(sent.length ? { localFiles: sent.map(([sha256, path]) => ({ sha256, path: resolve(path) })) } : {}),
  });
  const snap = await timeStage('create snapshot', async () => {
    try {
      return await create();
    } catch (err) {
      if (!byDigest || !isUnknownEnvironment(err)) throw err;
      byDigest = false; // a backend that has not seen it (or an older one): the environment itself, with its files' paths
      await knowEnvFiles();
      sent = offered();
      if (sent.length > MAX_IN_PLACE_FILES) sent = [];
      return create();
    }
  });

  let missing = [...snap.missing];
  // blobs that are none of the workspace's: the environment's (a backend that lost its dependency layer)
  if (missing.some((sha) => !m.sources.has(sha))) await knowEnvFiles();
  let localFiles = snap.localFiles && sent.length ? (snap.inPlace ?? 0) : 0;
  // files whose paths the manifest did not carry (a backend on this machine under another name, more
  // files than one request may name, an environment sent by digest): the backend is told where they are now, in parts
  const sentShas = new Set(sent.map(([sha]) => sha));
  const unsent = missing.filter((sha) => m.sources.has(sha) && !sentShas.has(sha));
  if (unsent.length && snap.localFiles && client.useLocalFiles && opts.localFiles !== false) {
    const files = unsent.map((sha) => ({ sha256: sha, path: resolve(m.sources.get(sha)!) }));
    try {
      let after = snap;
      for (let i = 0; i < files.length; i += MAX_IN_PLACE_FILES) {
        after = await timeStage('local files (backend reads in place)', () => client.useLocalFiles!(snap.id, files.slice(i, i + MAX_IN_PLACE_FILES)));
      }
      localFiles += missing.length - after.missing.length;
      missing = [...after.missing];
    } catch {
      /* an older or remote backend: upload them all */
    }
  }
  if (localFiles) say(`the backend reads ${localFiles} files in place`);
  let uploadedBytes = 0;
  let uploadedFiles = 0;
  if (missing.length) say(`uploading ${missing.length} of ${m.sources.size} files`);
  else if (!localFiles) say('the backend has every file already');
  const worker = async () => {
    for (let sha = missing.shift(); sha !== undefined; sha = missing.shift()) {
      const path = m.sources.get(sha);
      if (!path) throw new WorkspaceError(`the backend asked for blob ${sha}, which is not a file of this workspace`);
      const data = await readFile(path);
      if (sha256Hex(data) !== sha) {
        throw new WorkspaceError(`${path.startsWith(m.root) ? relative(m.root, path) : path} changed while saving; save again`);
      }
      await client.putBlob(sha, data);
      uploadedFiles++;
      uploadedBytes += data.length;
    }
  };
  const stopOnError = () =>
    worker().catch((err) => {
      missing.length = 0; // the other workers stop after their current upload
      throw err;
    });
  await timeStage('upload to backend', () => Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, stopOnError)), () => uploadedBytes);
  if (uploadedFiles) say(`uploaded ${uploadedFiles} files (${fmtBytes(uploadedBytes)})`);

  say(opts.selfTest ? 'building the image and running its self-test' : 'building the image');
  const version = await timeStage('build (backend)', () => followBuild(client, snap.id, opts.onProgress ? say : null));
  say(`saved ${version.model}:${version.label} (${version.digest.slice(0, 19)})`);
  return { version, uploadedFiles, uploadedBytes, localFiles, totalFiles: m.sources.size, durationMs: Date.now() - started };
}
