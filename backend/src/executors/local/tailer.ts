/**
 * Log tailing by byte offset: reads stdout.log and stderr.log of a run from
 * the last committed offsets, splits them into lines and hands them out in
 * bounded batches together with the offsets they advance to.
 *
 * Crash safety comes from committing an offset only after the sink accepted
 * the batch (the offsets travel in the sink.log ref, stored atomically with
 * the lines), and from never consuming a partial last line: it stays in the
 * file until its newline arrives, or until the process ended (final drain),
 * so a restart re-reads exactly the unsent bytes.
 *
 * Bounds: a batch holds at most MAX_BATCH_LINES lines; a line longer than
 * MAX_LINE_BYTES is cut (at a UTF-8 boundary) with a marker and the rest of
 * it, up to its newline, is skipped (the `skipping` flag is part of the ref).
 * Lines are split on "\n" (a trailing "\r" is dropped) and decoded as UTF-8
 * with replacement characters. Order is kept within each stream; there is
 * no global order between stdout and stderr (two files).
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamPos } from './ref';

export const MAX_BATCH_LINES = 1000;
export const MAX_LINE_BYTES = 64 * 1024;
const CHUNK_BYTES = 256 * 1024;
/** bytes read per stream per drain, so a very chatty run cannot hog the loop */
const MAX_BYTES_PER_DRAIN = 16 * 1024 * 1024;

export type Stream = 'stdout' | 'stderr';
export interface Line {
  stream: Stream;
  text: string;
}
export interface Positions {
  stdout: StreamPos;
  stderr: StreamPos;
}
export type Emit = (lines: Line[], positions: Positions) => Promise<void>;

export class LogTailer {
  private committed: Positions;

  constructor(
    private readonly runDir: string,
    start: Positions,
  ) {
    this.committed = { stdout: { ...start.stdout }, stderr: { ...start.stderr } };
  }

  get positions(): Positions {
    return { stdout: { ...this.committed.stdout }, stderr: { ...this.committed.stderr } };
  }

  /**
   * Reads what is new in both files and emits it. With `final`, the process
   * has ended: a last line without newline is emitted too. Throws what emit
   * throws; positions then stay where the last accepted batch left them.
   */
  async drain(emit: Emit, final: boolean): Promise<void> {
    for (const stream of ['stdout', 'stderr'] as const) {
      await this.drainStream(stream, emit, final);
    }
  }

  private async drainStream(stream: Stream, emit: Emit, final: boolean): Promise<void> {
    let fh;
    try {
      fh = await open(join(this.runDir, `${stream}.log`), 'r');
    } catch {
      return; // not created yet
    }
    try {
      const pos: StreamPos = { ...this.committed[stream] };
      let batch: Line[] = [];
      const flush = async () => {
        const next = this.positions;
        next[stream] = { ...pos };
        if (batch.length > 0) await emit(batch, next);
        // offsets moved without lines (skipped bytes) are kept in memory only: the stored
        // (offset, skipping) pair stays consistent, a restart just skips those bytes again
        this.committed = next;
        batch = [];
      };
      const buf = Buffer.allocUnsafe(CHUNK_BYTES);
      let budget = MAX_BYTES_PER_DRAIN;
      while (budget > 0 || final) {
        const { bytesRead: n } = await fh.read(buf, 0, CHUNK_BYTES, pos.offset);
        if (n === 0) break;
        budget -= n;
        let i = 0;
        let atEnd = false;
        while (i < n && batch.length < MAX_BATCH_LINES) {
          if (pos.skipping) {
            const nl = buf.subarray(0, n).indexOf(10, i);
            if (nl < 0) i = n;
            else {
              i = nl + 1;
              pos.skipping = false;
            }
            continue;
          }
          const nl = buf.subarray(0, n).indexOf(10, i);
          if (nl >= 0) {
            batch.push({ stream, text: decodeLine(buf, i, nl) });
            i = nl + 1;
          } else if (n - i > MAX_LINE_BYTES) {
            batch.push({ stream, text: decodeLine(buf, i, n) });
            pos.skipping = true;
            i = n;
          } else if (n === CHUNK_BYTES) {
            break; // a partial line at the chunk's end (shorter than the cap): re-read it from its start
          } else if (final) {
            batch.push({ stream, text: decodeLine(buf, i, n) });
            i = n;
          } else {
            atEnd = true; // a partial last line: it stays in the file until its newline comes
            break;
          }
        }
        pos.offset += i;
        if (batch.length >= MAX_BATCH_LINES) {
          await flush();
          continue;
        }
        if (atEnd || n < CHUNK_BYTES) break;
      }
      await flush();
    } finally {
      await fh.close();
    }
  }
}

/** Decodes buf[start, end) as one line: cut at MAX_LINE_BYTES on a UTF-8 boundary, marked; trailing \r dropped. */
export function decodeLine(buf: Buffer, start: number, end: number): string {
  let stop = end;
  let truncated = false;
  if (end - start > MAX_LINE_BYTES) {
    stop = start + MAX_LINE_BYTES;
    while (stop > start && (buf[stop] & 0xc0) === 0x80) stop--; // do not split a character
    truncated = true;
  }
  let text = buf.toString('utf8', start, stop);
  if (!truncated && text.endsWith('\r')) text = text.slice(0, -1);
  return truncated ? `${text} … [line truncated at ${MAX_LINE_BYTES} bytes]` : text;
}
