/**
 * The blob staging directory (ctx.dirs.blobs): uploaded workspace files, one
 * file per sha256 (`<dir>/<hex>`). An upload is streamed to a temp file while
 * it is hashed and counted; only bytes that hash to the name they were
 * uploaded under are fsynced and renamed into place. A mismatch, an oversize
 * body or a broken connection leaves nothing stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

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

export class BlobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`blob is over the ${limit}-byte limit`);
  }
}

/**
 * Streams `data` to disk as `sha256`, hashing on the fly; more than `maxBytes`
 * throws BlobTooLargeError, a wrong hash BlobMismatchError, and either stores nothing.
 */
export async function stageBlob(dir: string, sha256: string, data: Buffer | Readable, maxBytes: number): Promise<{ sha256: string; size: number }> {
  const target = stagedBlobPath(dir, sha256);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(
      Buffer.isBuffer(data) ? Readable.from([data]) : data,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > maxBytes) throw new BlobTooLargeError(maxBytes);
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true }),
    );
    const got = hash.digest('hex');
    if (got !== sha256) throw new BlobMismatchError(sha256, got);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { sha256, size };
}
