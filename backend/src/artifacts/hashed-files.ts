/**
 * The output files an ArtifactsService has hashed, by path, so that collecting unchanged files
 * again (a re-push of the same directory) does not read them again. As the client's hash cache
 * and the save's verified files do (shared/src/snapshot/hash-cache.ts): a file is known by its
 * stat key (size, mtime, ctime, inode, device), remembered only when that stat was the same before
 * and after it was read and both timestamps were settled (RACY_MS old), so any write since makes it
 * read again. Kept in memory (a fresh backend hashes from scratch), at most MAX_KNOWN paths.
 */
import { stat } from 'node:fs/promises';
import { isCacheable, nowNs, statKey } from '@trainyard/shared/snapshot/hash-cache';
import { hashFile } from './oci-artifact';

const MAX_KNOWN = 100_000;

export class HashedFiles {
  private readonly known = new Map<string, { key: string; sha256: string }>();

  constructor(private readonly read: (path: string) => Promise<{ sha256: string; size: number }> = hashFile) {}

  /** sha256 (hex) and size of the file at `path`, read only when it is not known unchanged */
  async hash(path: string): Promise<{ sha256: string; size: number }> {
    const before = await stat(path, { bigint: true });
    const key = statKey(before);
    const k = this.known.get(path);
    if (k && k.key === key) return { sha256: k.sha256, size: Number(before.size) };
    const startedNs = nowNs();
    const got = await this.read(path);
    const after = await stat(path, { bigint: true });
    this.known.delete(path);
    if (isCacheable(key, statKey(after), startedNs) && got.size === Number(before.size)) {
      if (this.known.size >= MAX_KNOWN) this.known.delete(this.known.keys().next().value!);
      this.known.set(path, { key, sha256: got.sha256 });
    }
    return got;
  }
}
