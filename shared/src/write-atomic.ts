/**
 * A file replaced whole or not at all: the bytes go to a temp file beside it (named by this
 * process and a random suffix, so two writers never share one), which is then renamed over it.
 * On a failure the temp file is removed and the old file is left as it was. Not fsynced unless
 * `sync`: for state that may be lost in a crash but must never be torn; with `sync`, the bytes
 * reach the disk before the rename (for a file something durable will name). Node only.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, writeFile } from 'node:fs/promises';

export async function writeAtomic(path: string, data: string | Uint8Array, opts: { sync?: boolean } = {}): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    if (opts.sync) {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } else {
      await writeFile(tmp, data);
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
