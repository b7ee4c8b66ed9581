/**
 * An artifact download written to disk only when it is the file the run kept: through
 * `<target>.trainyard-part`, counting and hashing as it goes, renamed into place when size and
 * sha256 match the listing; on a mismatch, an error or an abort nothing is left behind.
 * Node only (the CLI's `artifacts --download` and the VS Code host); tested in
 * vscode-ext/test/verified-write.test.ts.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactFile } from './schemas/artifacts';

/** Writes `body` to `target`; `onBytes` gets the count so far; throws (leaving nothing) when the bytes are not the listed ones. */
export async function writeVerified(body: ReadableStream<Uint8Array>, file: ArtifactFile, target: string, onBytes: (n: number) => void, signal?: AbortSignal): Promise<void> {
  const tmp = `${target}.trainyard-part`;
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      onBytes(size);
      cb(null, chunk);
    },
  });
  try {
    // read as an async iterable where it is one (Node's web streams, and the CLI's httpFetch body, which is no web stream)
    const source = Symbol.asyncIterator in body ? (body as AsyncIterable<Uint8Array>) : Readable.fromWeb(body as import('node:stream/web').ReadableStream);
    await pipeline(source, count, createWriteStream(tmp), { signal });
    const got = hash.digest('hex');
    if (size !== file.size || got !== file.sha256) {
      throw new Error(`${file.path}: downloaded ${size} bytes with sha256 ${got}, but the run kept ${file.size} bytes with sha256 ${file.sha256}; nothing was written, try again`);
    }
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
}

