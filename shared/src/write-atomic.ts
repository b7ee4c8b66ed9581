/**
 * A file replaced whole or not at all: the bytes go to a temp file beside it (named by this
 * process and a random suffix, so two writers never share one), which is then renamed over it.
 * On a failure the temp file is removed and the old file is left as it was. Not fsynced: for
 * state that may be lost in a crash but must never be torn. Node only.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
