/**
 * Snapshot environments stored once, by content. An environment lists every installed file with
 * its sha256: one of 20,000 files is megabytes of JSON. Kept inline in each snapshot row, every
 * save of the same environment inserted it again and each status update rewrote it (~100 ms of
 * a re-save's server time). A row now names its environment by digest (sha256 of its JSON), and
 * the file `<blobs>/.environments/<hex>.json` holds it, written (and synced) before the row that
 * names it. A save of a known environment also gets the object planned before (dependencies.ts
 * memoizes plans per environment object).
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CreateSnapshot, SnapshotEnvironment } from '@trainyard/shared';
import type { AppContext } from '../context';
import { environmentDigest } from '@trainyard/shared/snapshot/environment-digest';
import { writeAtomic } from '@trainyard/shared/write-atomic';

/** where a backend keeps them */
export const environmentsDir = (ctx: Pick<AppContext, 'dirs'>): string => join(ctx.dirs.blobs, '.environments');

/** a snapshot's manifest as its row stores it: the environment by digest (rows written before hold it inline) */
export type StoredManifest = Omit<CreateSnapshot, 'environment'> & { environment?: SnapshotEnvironment; environmentDigest?: string };

/** environments kept parsed */
const KEEP = 8;
const HEX64 = /^[0-9a-f]{64}$/;

export class EnvironmentStore {
  private readonly known = new Map<string, SnapshotEnvironment>();
  /** digests whose file this store wrote or found */
  private readonly persisted = new Set<string>();

  constructor(readonly dir: string) {}

  private file(digest: string): string {
    if (!HEX64.test(digest)) throw new Error(`environment digest "${digest}" is not a sha256 hex`);
    return join(this.dir, `${digest}.json`);
  }

  private remember(digest: string, env: SnapshotEnvironment): SnapshotEnvironment {
    this.known.delete(digest);
    if (this.known.size >= KEEP) this.known.delete(this.known.keys().next().value!);
    this.known.set(digest, env);
    return env;
  }

  /** `env`'s digest, and the object to use for it from now on (the first one seen: plans made for it are reused) */
  intern(env: SnapshotEnvironment, known?: string): { digest: string; environment: SnapshotEnvironment } {
    const digest = known ?? environmentDigest(env);
    return { digest, environment: this.remember(digest, this.known.get(digest) ?? env) };
  }

  /** stores the environment under its digest, unless it is there (call before storing a row that names it) */
  async persist(digest: string, env: SnapshotEnvironment): Promise<void> {
    if (this.persisted.has(digest)) return;
    const file = this.file(digest);
    if (!(await stat(file).then((s) => s.isFile(), () => false))) {
      await mkdir(this.dir, { recursive: true });
      // named by a row from now on: never torn, not lost once the row is stored
      await writeAtomic(file, JSON.stringify(env), { sync: true });
    }
    this.persisted.add(digest);
  }

  /** the environment stored under `digest`, or null when this backend does not have it */
  async find(digest: string): Promise<SnapshotEnvironment | null> {
    if (this.known.has(digest)) return this.remember(digest, this.known.get(digest)!);
    return this.get(digest).catch(() => null);
  }

  /** the environment stored under `digest` (an error saying so when it is gone) */
  async get(digest: string): Promise<SnapshotEnvironment> {
    const seen = this.known.get(digest);
    if (seen) return seen;
    const gone = () => new Error(`the snapshot's environment (sha256 ${digest}) is no longer stored on this backend; save again`);
    const file = this.file(digest);
    let env: SnapshotEnvironment;
    try {
      env = JSON.parse(await readFile(file, 'utf8')) as SnapshotEnvironment;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw gone();
      env = null as never; // not JSON: checked below
    }
    // a file that does not hold what its name says (damaged on disk) is dropped, so the next save stores it again
    if (!env || typeof env !== 'object' || environmentDigest(env) !== digest) {
      await rm(file, { force: true });
      this.persisted.delete(digest);
      throw gone();
    }
    return this.remember(digest, env);
  }

  /** the manifest with its environment interned, and the row's form of it (the environment by digest: persist it first) */
  toStored(manifest: CreateSnapshot, knownDigest?: string): { stored: StoredManifest; manifest: CreateSnapshot; digest: string | null } {
    if (!manifest.environment) return { stored: manifest, manifest, digest: null };
    const { digest, environment } = this.intern(manifest.environment, knownDigest);
    const { environment: _, ...rest } = manifest;
    return { stored: { ...rest, environmentDigest: digest }, manifest: { ...manifest, environment }, digest };
  }

  /** a row's manifest with its environment in place */
  async fromStored(stored: StoredManifest): Promise<CreateSnapshot> {
    if (!stored.environmentDigest) return stored as CreateSnapshot;
    const { environmentDigest, ...rest } = stored;
    return { ...rest, environment: await this.get(environmentDigest) };
  }
}
