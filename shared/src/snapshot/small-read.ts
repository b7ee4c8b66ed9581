/**
 * Small files read whole with blocking calls. An async read of one (open, stat, read, stat,
 * close: five thread-pool round trips) costs far more than its bytes: 20,000 files of 120 bytes
 * took 5.8-6.9 s of CPU async on this 2-core machine, 0.21-0.26 s with blocking calls (each
 * hand-off between threads is a futex wake and a context switch). The event loop is held for
 * microseconds per file; where reads are slow (a network file system), a SyncReads stops
 * blocking: after SLOW_RUN reads in a row over SLOW_MS, or one over STALL_MS. A single slow read
 * (a page fault, a GC pause landing in it) does not. Node-only.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';

/** files up to this size are read with blocking calls */
export const SYNC_MAX = 64 << 10;
const SLOW_MS = 2;
const SLOW_RUN = 3;
const STALL_MS = 50;

/** whether small files are still read with blocking calls (per layer, verification or walk) */
export class SyncReads {
  blocking = true;
  private slowRun = 0;

  /** records how long one blocking read took */
  took(ms: number): void {
    this.slowRun = ms > SLOW_MS ? this.slowRun + 1 : 0;
    if (this.slowRun >= SLOW_RUN || ms > STALL_MS) this.blocking = false;
  }
}

export class NotRegularFile extends Error {}

/**
 * The bytes of `path` with its stat before and after the read, or undefined when it is larger
 * than `max` (read it async). Opened O_NONBLOCK, so a FIFO put in a file's place cannot hang the
 * event loop: anything but a regular file throws NotRegularFile. Other failures (ENOENT, EACCES) throw.
 */
export function readSmallSync(path: string, reads: SyncReads, max = SYNC_MAX): { data: Buffer; before: BigIntStats; after: BigIntStats } | undefined {
  const t = performance.now();
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile()) throw new NotRegularFile(`${path} is not a regular file`);
    if (before.size > BigInt(max)) return undefined;
    const data = Buffer.allocUnsafe(Number(before.size));
    let n = 0;
    while (n < data.length) {
      const got = readSync(fd, data, n, data.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return { data: n === data.length ? data : data.subarray(0, n), before, after: fstatSync(fd, { bigint: true }) };
  } finally {
    closeSync(fd);
    reads.took(performance.now() - t);
  }
}
