/**
 * The blob staging directory (ctx.dirs.blobs): uploaded workspace files, one
 * file per sha256 (`<dir>/<hex>`), written as temp + fsync + rename only after
 * the bytes hash to the name they were uploaded under.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

const HEX = /^[a-f0-9]{64}$/;

export function stagedBlobPath(dir: string, sha256: string): string {
  if (!HEX.test(sha256)) throw new Error(`invalid sha256 ${JSON.stringify(sha256)}`);
  return join(dir, sha256);
}

export async function hasStagedBlob(dir: string, sha256: string): Promise<boolean> {
  try {
    return (await stat(stagedBlobPath(dir, sha256))).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** the distinct sha256s of `shas` that are not staged yet, in first-seen order */
export async function missingStagedBlobs(dir: string, shas: Iterable<string>): Promise<string[]> {
  const all = [...new Set(shas)];
  const has: boolean[] = [];
  for (let i = 0; i < all.length; i += 64) has.push(...(await Promise.all(all.slice(i, i + 64).map((sha) => hasStagedBlob(dir, sha)))));
  return all.filter((_, i) => !has[i]);
}

export class BlobMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly got: string,
  ) {
    super(`blob hash mismatch: expected sha256 ${expected}, got ${got}`);
  }
}

/** verifies and stores `data` as `sha256`; a mismatch throws BlobMismatchError and stores nothing */
export async function stageBlob(dir: string, sha256: string, data: Buffer): Promise<{ sha256: string; size: number }> {
  const target = stagedBlobPath(dir, sha256);
  const got = createHash('sha256').update(data).digest('hex');
  if (got !== sha256) throw new BlobMismatchError(sha256, got);
  if (await hasStagedBlob(dir, sha256)) return { sha256, size: data.length };
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { sha256, size: data.length };
}
