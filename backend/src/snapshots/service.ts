/**
 * SnapshotsService: the backend half of Save Model.
 *
 * create(): validate the manifest, ensure the model, pick the version label,
 * store the manifest, answer which file blobs are not staged yet.
 * putBlob(): stage one verified file; useLocalFiles(): the local fast path
 * (local-files.ts). build(): with every blob there, build the image (base +
 * dependency + code layers), tag it `<model>:<label>`, record the version
 * (build.ts, under the label's lock).
 *
 * Versions are immutable. The config digest identifies an image's content
 * (the manifest differs between builds by its `created` annotation only), so a
 * rebuild of the same label with the same config returns the existing version,
 * and different content under an existing label is a 409. Builds of one
 * snapshot share one promise; builds of one label run one at a time.
 * With a `selfTest` command, the built image runs it (self-test.ts) before
 * anything is tagged or recorded: a failure leaves no version and no tag.
 */
import type { BaseImageInfo, CreateSnapshot, CreateSnapshotRequest, Snapshot, SnapshotStatus, Version } from '@trainyard/shared';
import { timeStage } from '@trainyard/shared/snapshot/stages';
import type { Readable } from 'node:stream';
import type { AppContext } from '../context';
import { conflict, HttpError, invalid, notFound } from '../errors';
import { newId, nowIso } from '../ids';
import { ensureModel, getVersion } from '../models/store';
import type { SnapshotsTable } from '../store/db';
import { BaseImageError, resolveBaseImage, type ResolvedBase } from '../images/base-image';
import { cachedDependencyLayer, DependencyError, planDependencies, scanBasePython } from '../images/dependencies';
import { imageSourcePolicy, imageSourceProblem, type ImageSourcePolicy } from '../images/image-sources';
import { installUnavailable } from '../images/install';
import { SourceChangedError, type FileSource } from '../images/layer';
import { isValidRefName } from '../images/oci-layout';
import { RegistryStore } from '../images/registry-store';
import { tagFor } from '../images/registry/reference';
import { BlobMismatchError, BlobTooLargeError, missingStagedBlobs, stageBlob, stagedBlobPath } from './blobs';
import { baseScansDir, buildAndRecord, codeFiles, dependencyCacheDir, installOptions, type SnapshotsOptions } from './build';
import { isLoopbackHost } from '@trainyard/shared/loopback';
import { claimedSizes, LocalSources } from './local-files';
import { writeDependencyLayerAhead } from './dependency-ahead';
import { writeCodeLayerAhead } from './code-ahead';
import { EnvironmentStore, environmentsDir, type StoredManifest } from './environments';
import { SelfTestError } from './self-test';
import { defaultVersionLabel, validateManifest } from './validate';

export type { SnapshotsOptions } from './build';

/** what a snapshot's create planned (SnapshotsService.recent) */
interface CreatePlan {
  base: Promise<ResolvedBase> | null;
  dependencyShas: string[];
}

/** a snapshot's row as the service reads it: every column but the manifest */
type SnapshotRow = Omit<SnapshotsTable, 'manifest'>;
const ROW_COLUMNS = ['id', 'model', 'version', 'status', 'missing', 'error', 'error_code', 'created_by', 'created_at'] as const;
/** recent snapshots kept parsed (SnapshotsService.recent) */
const KEEP_RECENT = 16;

export class SnapshotsService {
  private readonly builds = new Map<string, Promise<Version>>();
  /** layers being written ahead of their builds (dependency-ahead.ts, code-ahead.ts): close() stops them and waits */
  private readonly aheadWrites = new Set<Promise<void>>();
  private readonly closing = new AbortController();
  private readonly labelLocks = new Map<string, Promise<unknown>>();
  /** files the build reads in place (local-files.ts), per snapshot */
  private readonly local = new LocalSources();
  /** the environments snapshot rows name by digest */
  private readonly environments: EnvironmentStore;
  /**
   * recent snapshots: the manifest, parsed (one with an environment of 20,000 files is megabytes of
   * JSON, and a save reads it at create, build and status; its row is read without it), and, when
   * this backend created the snapshot, what create planned: the base image as resolved then and
   * the environment files its dependency layer needs (none when that layer is built already), so
   * the build checks and builds on the same base without resolving it and planning again
   */
  private readonly recent = new Map<string, { manifest: CreateSnapshot; plan?: CreatePlan }>();

  constructor(
    private readonly ctx: AppContext,
    private readonly opts: SnapshotsOptions = {},
  ) {
    this.environments = new EnvironmentStore(environmentsDir(ctx));
  }

  /** the image sources a caller may name (images.allowedRegistries, images.allowLayoutPaths) */
  private sourcePolicy(): ImageSourcePolicy {
    return imageSourcePolicy(this.ctx.config.images, this.ctx.images);
  }

  async create(request: CreateSnapshotRequest, createdBy = this.ctx.user): Promise<Snapshot> {
    const { localFiles: offered, environmentDigest, ...asked } = request; // where the files are is not part of the manifest
    if (environmentDigest !== undefined) {
      if (asked.environment) throw invalid('send the environment or its digest (environmentDigest), not both');
      const known = await this.environments.find(environmentDigest);
      if (!known) throw conflict(`this backend does not have the environment sha256 ${environmentDigest}: send the environment itself`, { environmentUnknown: true, environmentDigest });
      asked.environment = known;
    }
    validateManifest(asked, this.ctx.config.images.maxFileBytes);
    // a known environment becomes the object seen before (its plan and hashes are made already); the row names it by digest
    const { stored, manifest: body, digest: envDigest } = this.environments.toStored(asked, environmentDigest);
    const label = defaultVersionLabel(body);
    if (!isValidRefName(`${body.model}:${label}`)) {
      throw invalid(`version label "${label}" cannot tag an image: use letters and digits separated by single ".", "_", "-" or "+", ending with a letter or digit`);
    }
    const sourceProblem = body.baseImage ? imageSourceProblem(body.baseImage, this.sourcePolicy()) : null;
    if (sourceProblem) throw invalid(sourceProblem);
    if (this.ctx.images instanceof RegistryStore) {
      try {
        tagFor(label);
      } catch (err) {
        throw invalid((err as Error).message);
      }
    }
    await ensureModel(this.ctx.db, body.model, createdBy);
    const files = [...body.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const manifest: CreateSnapshot = { ...body, files };
    const id = newId('snp');
    // which environment files the build needs is known once the base image is read; meanwhile the
    // files offered in place are verified (local-files.ts), the workspace's first
    const base = body.environment && body.baseImage ? resolveBaseImage(body.baseImage, this.ctx.images) : null;
    base?.catch(() => undefined); // awaited by dependencyShas
    const depShas = this.dependencyShas(body, base);
    depShas.catch(() => undefined); // awaited below
    const inPlace = this.localFiles ? this.local.takeOffered(id, manifest, offered ?? [], depShas, this.ctx.config.images.maxFileBytes) : null;
    if (inPlace && base && !this.closing.signal.aborted) {
      const scan = (b: ResolvedBase) => scanBasePython(this.ctx.images, b.layers, baseScansDir(this.ctx));
      // while the base is scanned, the dependency layer of a guessed plan is written from the files read in place
      this.aheadOf(writeDependencyLayerAhead({
        store: this.ctx.images,
        env: body.environment!,
        model: body.model,
        base,
        scan,
        verified: inPlace.catch(() => undefined),
        inPlace: (sha) => this.local.get(id).has(sha),
        source: (sha) => this.source(id, sha),
        cacheDir: dependencyCacheDir(this.ctx),
        compression: this.ctx.config.images.compression,
        signal: this.closing.signal,
      }));
      // and the code layer, for the interpreter the scan says or the base's config suggests
      this.aheadOf(writeCodeLayerAhead({
        store: this.ctx.images,
        env: body.environment!,
        base,
        scan,
        verified: inPlace.catch(() => undefined),
        files: () => (files.every((f) => this.local.get(id).has(f.sha256)) ? codeFiles(manifest, (sha) => this.source(id, sha)) : null),
        compression: this.ctx.config.images.compression,
        signal: this.closing.signal,
      }));
    }
    let needed: Set<string>;
    let missing: string[];
    let fresh: string[];
    let dependencyShas: string[];
    try {
      dependencyShas = await depShas;
      needed = new Set([...files.map((f) => f.sha256), ...dependencyShas]);
      fresh = (await inPlace) ?? [];
      // what is read in place is not looked for in the staging dir
      const taken = this.local.get(id);
      missing = await timeStage('missing blobs (create)', () => missingStagedBlobs(this.ctx.dirs.blobs, [...needed].filter((sha) => !taken.has(sha))));
    } catch (err) {
      await inPlace?.catch(() => undefined);
      this.local.drop(id);
      throw err;
    }
    if (envDigest) await this.environments.persist(envDigest, body.environment!);
    const row: SnapshotsTable = {
      id,
      model: body.model,
      version: label,
      manifest: JSON.stringify({ ...stored, files }),
      status: 'uploading',
      missing: JSON.stringify(missing),
      error: null,
      created_by: createdBy,
      created_at: nowIso(),
    };
    await this.ctx.db.insertInto('snapshots').values(row).execute();
    this.remember(id, manifest, { base, dependencyShas });
    const snap = toSnapshot(row);
    this.ctx.bus.publish({ kind: 'snapshot', data: snap });
    return this.withLocal(snap, fresh.filter((sha) => needed.has(sha)).length);
  }

  private aheadOf(write: Promise<void>): void {
    this.aheadWrites.add(write);
    void write.finally(() => this.aheadWrites.delete(write));
  }

  /** stops the layers being written ahead of builds and waits for them and for the builds under way: nothing is written into the data home after */
  async close(): Promise<void> {
    this.closing.abort(new Error('the server is closing'));
    // the builds under way end and are recorded (a second signal to `serve` exits without waiting)
    await Promise.all([...this.aheadWrites, ...[...this.builds.values()].map((b) => b.catch(() => undefined))]);
  }

  /** whether this backend reads files in place (it listens on loopback: local-files.ts) */
  get localFiles(): boolean {
    return isLoopbackHost(this.ctx.config.server.host);
  }

  /** on a loopback backend, the snapshot says so, with how many blobs its build reads in place (when counted) */
  private withLocal(snap: Snapshot, inPlace?: number): Snapshot {
    return this.localFiles ? { ...snap, localFiles: true, ...(inPlace !== undefined ? { inPlace } : {}) } : snap;
  }

  /**
   * The local fast path: the build reads these files in place. Each path is accepted for a
   * sha256 the snapshot still needs, when its bytes hash to it; the answer lists what is
   * still missing (upload those), never why a path was not taken.
   */
  async useLocalFiles(id: string, files: Array<{ sha256: string; path: string }>): Promise<Snapshot> {
    if (!this.localFiles) throw new HttpError('forbidden', `this backend listens on ${this.ctx.config.server.host}, not on loopback, so it does not read files in place: upload them with PUT /v1/blobs/:sha256`);
    const row = await this.row(id);
    if (row.status !== 'uploading') throw conflict(`snapshot ${id} is ${row.status}; local files are taken only while it is uploading`);
    const manifest = await this.manifestOf(id);
    const need = new Set(await this.missing(id, manifest));
    await this.local.verifyAndTake(id, files.filter((f) => need.has(f.sha256)), this.ctx.config.images.maxFileBytes, undefined, claimedSizes(manifest, true));
    row.missing = JSON.stringify(await this.missing(id, manifest));
    return this.withLocal(toSnapshot(row));
  }

  /** the blobs the build still lacks: neither staged nor taken in place */
  private async missing(id: string, manifest: CreateSnapshot): Promise<string[]> {
    const local = this.local.get(id);
    const planned = this.recent.get(id)?.plan?.dependencyShas;
    const needed = [...manifest.files.map((f) => f.sha256), ...(planned ?? (await this.dependencyShas(manifest).catch(() => [])))];
    return missingStagedBlobs(this.ctx.dirs.blobs, needed.filter((sha) => !local.has(sha)));
  }

  /** where the build reads a blob: in place (verified again as it is read) or staged */
  private source(id: string, sha256: string): FileSource {
    return this.local.source(id, sha256) ?? { file: stagedBlobPath(this.ctx.dirs.blobs, sha256) };
  }

  async get(id: string): Promise<Snapshot> {
    const row = await this.row(id);
    if (row.status === 'uploading') {
      const manifest = await this.manifestOf(id);
      row.missing = JSON.stringify(await this.missing(id, manifest));
    }
    return this.withLocal(toSnapshot(row));
  }

  /** streams one file into the blob staging dir, verified against `sha256`; `declaredBytes` (Content-Length) is refused early when over the limit */
  async putBlob(sha256: string, data: Buffer | Readable, declaredBytes?: number): Promise<{ sha256: string; size: number }> {
    const limit = this.ctx.config.images.maxFileBytes;
    const size = Buffer.isBuffer(data) ? data.length : declaredBytes;
    if (size !== undefined && size > limit) {
      throw new HttpError('payload_too_large', `blob is ${size} bytes, over the ${limit}-byte limit (images.maxFileBytes)`);
    }
    try {
      return await stageBlob(this.ctx.dirs.blobs, sha256, data, limit);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') throw invalid('the upload ended before its last byte; nothing was stored (send the file again)');
      if (err instanceof BlobTooLargeError) throw new HttpError('payload_too_large', `blob is over the ${limit}-byte limit (images.maxFileBytes); nothing was stored`);
      if (err instanceof BlobMismatchError) {
        throw invalid(`blob hash mismatch: the URL says sha256 ${err.expected} but the body hashes to ${err.got}; nothing was stored (send the file's exact bytes)`, {
          expected: err.expected,
          got: err.got,
        });
      }
      throw err;
    }
  }

  /**
   * POST /v1/snapshots/:id/build: checks what can be checked at once (the snapshot exists, every
   * file is there: a 409 lists the missing ones), marks it building and starts the build, which
   * ends later as built or failed (with its error) on the snapshot and in `snapshot` events.
   * With `waitMs`, the answer waits that long for the build (this one, or one already running) to
   * end, and says how it ended: a client learns it without events or reads (`signal` ends the wait).
   */
  async startBuild(id: string, opts: { waitMs?: number; signal?: AbortSignal } = {}): Promise<Snapshot> {
    const row = await this.row(id);
    if (row.status === 'built') return toSnapshot(row);
    let build = this.builds.get(id);
    if (!build) {
      const marked = this.markBuilding(row);
      build = this.track(id, (async () => this.buildMarked(row, await marked))());
      build.catch(() => undefined); // the outcome is recorded on the snapshot
      await marked; // a 409 (files missing) is this request's answer
    }
    if (!opts.waitMs || !(await settlesWithin(build, opts.waitMs, opts.signal))) return toSnapshot(row);
    return toSnapshot(await this.row(id)); // built or failed, as recorded
  }

  /** every file of the snapshot is there (else a 409 lists the missing ones): it is marked building */
  private async markBuilding(row: SnapshotRow): Promise<CreateSnapshot> {
    const manifest = await this.manifestOf(row.id);
    const missing = await this.missing(row.id, manifest);
    if (missing.length) {
      await this.update(row, { missing: JSON.stringify(missing) });
      throw conflict(`${missing.length} file blob(s) are not uploaded yet: PUT /v1/blobs/:sha256 each of them, then build again`, { missing });
    }
    await this.update(row, { status: 'building', missing: '[]', error: null, error_code: null });
    return manifest;
  }

  build(id: string): Promise<Version> {
    return this.builds.get(id) ?? this.track(id, this.doBuild(id));
  }

  /** the one build of snapshot `id` while it runs */
  private track(id: string, p: Promise<Version>): Promise<Version> {
    const tracked = p.finally(() => this.builds.delete(id));
    this.builds.set(id, tracked);
    return tracked;
  }

  private async doBuild(id: string): Promise<Version> {
    const row = await this.row(id);
    if (row.status === 'built') {
      const v = await getVersion(this.ctx.db, row.model, row.version!);
      if (v) return v;
    }
    return this.buildMarked(row, await this.markBuilding(row));
  }

  /** builds a snapshot marked building, and records the outcome on it */
  private async buildMarked(row: SnapshotRow, manifest: CreateSnapshot): Promise<Version> {
    const id = row.id;
    const label = row.version!;
    try {
      const base = this.recent.get(id)?.plan?.base ?? undefined;
      const version = await this.withLabelLock(`${row.model}:${label}`, () =>
        buildAndRecord({ ctx: this.ctx, opts: this.opts, source: (sha) => this.source(row.id, sha), progress: (step) => this.progress(row, step), ...(base ? { base } : {}) }, row, manifest, label),
      );
      await this.update(row, { status: 'built' });
      this.local.drop(id);
      this.recent.delete(id);
      return version;
    } catch (err) {
      const e =
        err instanceof HttpError
          ? err
          : err instanceof SelfTestError
            ? invalid(err.message, { selfTest: manifest.selfTest, output: err.output })
            : err instanceof BaseImageError || err instanceof DependencyError || err instanceof SourceChangedError
              ? invalid(err.message)
              : new HttpError('internal', `building the image failed: ${(err as Error).message}`);
      await this.update(row, { status: 'failed', error: e.message, error_code: e.code });
      throw e;
    }
  }

  /**
   * The sha256s of the environment files the dependency layer needs: the delta
   * against the base image (resolved, unless `resolved` is given, and scanned now; the scan is
   * cached for the build).
   * Refuses, with the reason, an environment neither strategy can handle.
   */
  private async dependencyShas(body: CreateSnapshot, resolved?: Promise<ResolvedBase> | null): Promise<string[]> {
    const env = body.environment;
    if (!env || !body.baseImage) return [];
    try {
      const base = await (resolved ?? resolveBaseImage(body.baseImage, this.ctx.images));
      const basePy = await scanBasePython(this.ctx.images, base.layers, baseScansDir(this.ctx));
      const plan = planDependencies(env, basePy, base.ref);
      if (plan.strategy === 'copy') {
        // a dependency layer already built for this lock needs none of its files (a re-save sends nothing for it)
        if (await cachedDependencyLayer(this.ctx.images, dependencyCacheDir(this.ctx), plan.lockHash, this.ctx.config.images.compression)) return [];
        return plan.delta.flatMap((d) => (d.files ?? []).map((f) => f.sha256));
      }
      const why = plan.delta.length ? await installUnavailable(basePy, installOptions(this.ctx, this.opts)) : null;
      if (why) {
        throw new DependencyError(
          `cannot add the workspace's ${plan.delta.length} extra distributions to ${base.ref}: ${plan.notCopy}; and the install strategy (pip install inside the base image) cannot be used: ${why}. Save from a Linux Python matching the base image (--python), or make podman usable here`,
        );
      }
      return [];
    } catch (err) {
      if (err instanceof BaseImageError || err instanceof DependencyError) throw invalid(err.message);
      throw err;
    }
  }

  /**
   * Resolves a base image and reads what Python it has. A save asks this first, so the base is
   * read while the client is still hashing the workspace and its environment (the snapshot
   * then finds the answer remembered).
   */
  async inspectBase(ref: string): Promise<BaseImageInfo> {
    const sourceProblem = imageSourceProblem(ref, this.sourcePolicy());
    if (sourceProblem) throw invalid(sourceProblem);
    try {
      const base = await resolveBaseImage(ref, this.ctx.images);
      const py = await scanBasePython(this.ctx.images, base.layers, baseScansDir(this.ctx));
      return {
        ref: base.ref,
        digest: base.digest,
        layers: base.layers.length,
        python: py.version && py.siteDir ? { version: py.version, abi: py.abi, siteDir: `/${py.siteDir}` } : null,
        distributions: py.distributions.size,
      };
    } catch (err) {
      if (err instanceof BaseImageError) throw invalid(err.message);
      throw err;
    }
  }

  private async withLabelLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.labelLocks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.labelLocks.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.labelLocks.get(key) === tail) this.labelLocks.delete(key);
    }
  }

  /** the snapshot's row without its manifest (manifestOf reads that) */
  private async row(id: string): Promise<SnapshotRow> {
    const row = await this.ctx.db.selectFrom('snapshots').select(ROW_COLUMNS).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`no snapshot "${id}"; create one with POST /v1/snapshots (trainyard save)`);
    return row;
  }

  /** the snapshot's manifest, parsed once while it is recent */
  private async manifestOf(id: string): Promise<CreateSnapshot> {
    const known = this.recent.get(id);
    if (known) return known.manifest;
    const row = await this.ctx.db.selectFrom('snapshots').select('manifest').where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`no snapshot "${id}"; create one with POST /v1/snapshots (trainyard save)`);
    const manifest = await this.environments.fromStored(JSON.parse(row.manifest) as StoredManifest);
    this.remember(id, manifest);
    return manifest;
  }

  private remember(id: string, manifest: CreateSnapshot, plan?: CreatePlan): void {
    this.recent.delete(id);
    if (this.recent.size >= KEEP_RECENT) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(id, plan ? { manifest, plan } : { manifest });
  }

  /** a build step, streamed as a `snapshot` event with `progress` (not stored) */
  private progress(row: SnapshotRow, step: string): void {
    this.ctx.bus.publish({ kind: 'snapshot', data: { ...toSnapshot(row), progress: step } });
  }

  private async update(row: SnapshotRow, patch: Partial<Pick<SnapshotsTable, 'status' | 'missing' | 'error' | 'error_code'>>): Promise<void> {
    await this.ctx.db.updateTable('snapshots').set(patch).where('id', '=', row.id).execute();
    Object.assign(row, patch);
    if (patch.status) this.ctx.bus.publish({ kind: 'snapshot', data: toSnapshot(row) });
  }
}

/** whether `p` settles (either way) within `ms`, or before `signal` aborts */
function settlesWithin(p: Promise<unknown>, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (settled: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', gaveUp);
      resolve(settled);
    };
    const gaveUp = () => done(false);
    const timer = setTimeout(gaveUp, ms);
    signal?.addEventListener('abort', gaveUp, { once: true });
    p.then(() => done(true), () => done(true));
  });
}

export function toSnapshot(r: SnapshotRow): Snapshot {
  return {
    id: r.id,
    model: r.model,
    version: r.version,
    status: r.status as SnapshotStatus,
    missing: JSON.parse(r.missing),
    error: r.error,
    errorCode: (r.error_code ?? null) as Snapshot['errorCode'],
    createdAt: r.created_at,
  };
}
