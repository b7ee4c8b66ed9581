/**
 * Archives a run's container log into the store through the RunSink while the pod runs, and
 * once more at its end (drain), so logs outlive the pod.
 *
 * While the pod runs, one `follow` stream per pod (pod-log-request.ts) with timestamps, resumed
 * with `sinceTime` from the cursor (log-cursor.ts) whenever it ends, fails, or stays silent for
 * idleMs; repeats of a resumed read are dropped by timestamp and text, and a read whose first line
 * is newer than the cursor (the cursor's line was rotated out of the current file) archives a line
 * saying which span may be missing. Lines reach the sink on the run's chain, in order, with the
 * cursor in the ref (stored atomically with the lines: a restarted backend resumes there and
 * archives no line twice). A stream's lines wait on the chain before the next chunk is read.
 *
 * At the end, drain() stops the stream and reads on from the cursor (limitBytes per read) until the
 * log has been quiet for a while: the container runtime may still be writing the end of the log when
 * the container is reported terminated (seen with 50,000 lines written just before exit: up to
 * ~3,800 lines came later, under load). The last read keeps a final line without a newline.
 */
import { backoffDelay, sleep, toKubeError, type KubeClients } from './client';
import { cursorOf, gapLine, LogReader, parseTimedLine, sinceTimeOf, type LogCursor } from './log-cursor';
import { followPodLog, readPodLog } from './pod-log-request';

const SETTLE_MS = 200;
const QUIET_MS = 200;
const LOUD_QUIET_MS = 1200;
const LOUD_LINES = 500;
const SETTLE_MAX_MS = 10_000;
const READ_LIMIT_BYTES = 4 * 1024 * 1024;
const READ_LIMIT_MAX = 64 * 1024 * 1024;

export interface LogRef {
  pod: string | null;
  lastTs?: string | null;
  atLast?: string[];
  /** refs stored before timestamps: complete lines archived from the start of the pod's log */
  logLines?: number;
}

type Line = { stream: 'stdout' | 'stderr' | 'system'; text: string };

export interface LogArchiverOptions {
  kube: KubeClients;
  namespace: string;
  /** wait before following again after a stream ended */
  pollMs: number;
  /** a stream silent this long is opened again (default 60 s) */
  idleMs?: number;
  /** time bound of one read or of a stream's headers */
  requestTimeoutMs: number;
  ref: Partial<LogRef> | null;
  emit: (lines: Line[], ref: LogRef) => Promise<void>;
  /** runs fn on the run's chain (so log lines and state changes stay in order) */
  enqueue: (fn: () => Promise<void>) => void;
  log: (msg: string) => void;
}

export class LogArchiver {
  private pod: string | null;
  private cursor: LogCursor;
  /** lines of the pod's log already archived by a backend that counted lines (an old ref); 0 once resumed */
  private legacyLines: number;
  private following: string | null = null;
  private abort: AbortController | null = null;
  private warned = false;
  private failing = false;

  constructor(private readonly o: LogArchiverOptions) {
    this.pod = o.ref?.pod ?? null;
    this.cursor = cursorOf(o.ref);
    this.legacyLines = !this.cursor.lastTs && this.pod && typeof o.ref?.logLines === 'number' ? o.ref.logLines : 0;
  }

  get ref(): LogRef {
    return { pod: this.pod, lastTs: this.cursor.lastTs, atLast: [...this.cursor.atLast] };
  }

  /** follow this pod's log until stop() or drain() */
  follow(pod: string): void {
    if (this.following === pod) return;
    this.stop();
    this.following = pod;
    const ac = new AbortController();
    this.abort = ac;
    void this.followLoop(pod, ac.signal);
  }

  stop(): void {
    this.abort?.abort();
    this.abort = null;
    this.following = null;
  }

  /** the last reads, until the log is quiet (see the top); call on the run's chain */
  async drain(pod: string): Promise<void> {
    this.stop();
    const started = Date.now();
    let quietFor = QUIET_MS;
    let limit = READ_LIMIT_BYTES;
    for (let quiet = 0, first = true; Date.now() - started < SETTLE_MAX_MS; first = false) {
      const got = await this.read(pod, false, limit);
      if (got.lines < 0) break;
      if (got.full && got.lines === 0) {
        limit = Math.min(READ_LIMIT_MAX, limit * 2); // one second's lines fill a read: read more at once
        continue;
      }
      if (got.full) continue; // more is there already
      if (got.lines > 0) {
        quiet = 0;
        // still growing while we settle, or a burst since the stream's last chunk: the runtime may be behind
        if (!first || got.lines >= LOUD_LINES) quietFor = LOUD_QUIET_MS;
      } else if (!first) {
        quiet += SETTLE_MS;
        if (quiet >= quietFor) break;
      }
      await sleep(SETTLE_MS);
    }
    await this.read(pod, true, 0);
  }

  // ---------------------------------------------------------------- while it runs

  private async followLoop(pod: string, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (this.pod !== pod) this.startPod(pod);
        if (this.legacyLines > 0) {
          // an old ref that counted lines: one plain read first (it skips what was archived)
          await this.onChain(signal, async () => void (await this.read(pod, false, 0)));
          if (signal.aborted) return;
          if (this.legacyLines > 0) throw new Error('the first read failed'); // read() said why; try again later
        }
        const reader = new LogReader(this.cursor);
        let rest = '';
        const outcome = await followPodLog(
          this.o.kube,
          { namespace: this.o.namespace, pod, sinceTime: sinceTimeOf(this.cursor) },
          {
            connectTimeoutMs: this.o.requestTimeoutMs,
            idleMs: this.o.idleMs ?? 60_000,
            signal,
            onText: async (text) => {
              const parts = (rest + text).split('\n');
              rest = parts.pop() ?? '';
              const lines = this.accept(pod, reader, parts);
              if (lines.length) await this.onChain(signal, () => this.archive(pod, lines, reader.position));
            },
          },
        );
        this.failing = false;
        failures = 0;
        if (outcome === 'ended') await sleep(this.o.pollMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        void this.failed(pod, err, false); // says it once until a read works again
        await sleep(backoffDelay(failures++, Math.max(200, this.o.pollMs), 10_000), signal);
      }
    }
  }

  /** runs fn on the run's chain and waits for it; skipped once the stream was stopped (a drain runs after) */
  private onChain(signal: AbortSignal, fn: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.o.enqueue(async () => {
        if (signal.aborted) return resolve();
        try {
          await fn();
          resolve();
        } catch (err) {
          reject(err);
        }
      }),
    );
  }

  // ---------------------------------------------------------------- reads

  /** one plain read from the cursor: lines archived (-1: unreadable) and whether it hit the limit */
  private async read(pod: string, final: boolean, limitBytes: number): Promise<{ lines: number; full: boolean }> {
    if (this.pod !== pod) this.startPod(pod);
    let text: string;
    try {
      text = await readPodLog(this.o.kube, { namespace: this.o.namespace, pod, sinceTime: sinceTimeOf(this.cursor), limitBytes: limitBytes || undefined });
    } catch (err) {
      await this.failed(pod, err, final);
      return { lines: -1, full: false };
    }
    this.failing = false;
    const full = limitBytes > 0 && Buffer.byteLength(text) >= limitBytes;
    const parts = text.split('\n');
    const last = parts.pop() ?? '';
    if (final && last !== '') parts.push(last);
    const reader = new LogReader(this.cursor);
    // an old ref counted the lines archived from the start of this log: skip them (the cursor moves past them)
    const skip = Math.min(this.legacyLines, parts.length);
    this.legacyLines = 0;
    for (const r of parts.slice(0, skip)) reader.accept(parseTimedLine(r));
    const lines = this.accept(pod, reader, parts.slice(skip));
    if (lines.length) await this.archive(pod, lines, reader.position);
    else this.cursor = reader.position;
    return { lines: lines.filter((l) => l.stream !== 'system').length, full };
  }

  /** the new lines among raw ones, with a line marking a gap where the read began past the cursor */
  private accept(pod: string, reader: LogReader, raw: string[]): Line[] {
    const out: Line[] = [];
    for (const r of raw) {
      const line = parseTimedLine(r);
      const { fresh, gap } = reader.accept(line);
      if (gap) out.push({ stream: 'system', text: gapLine(pod, gap) });
      if (fresh) out.push({ stream: 'stdout', text: line.text });
    }
    return out;
  }

  private startPod(pod: string): void {
    this.pod = pod;
    this.cursor = { lastTs: null, atLast: [] };
    this.legacyLines = 0;
  }

  private async archive(pod: string, lines: Line[], at: LogCursor): Promise<void> {
    await this.o.emit(lines, { pod, lastTs: at.lastTs, atLast: at.atLast });
    this.pod = pod;
    this.cursor = at;
  }

  private async failed(pod: string, err: unknown, final: boolean): Promise<void> {
    const e = toKubeError(err);
    if (final && !this.warned) {
      this.warned = true;
      const text =
        e.status === 404
          ? `trainyard: pod ${pod} is gone; its log ends with what was archived while it ran`
          : `trainyard: could not read the log of pod ${pod} (${e.status ?? 'no response'}: ${e.message})`;
      await this.o.emit([{ stream: 'system', text }], this.ref);
    } else if (!this.failing) this.o.log(`log of pod ${pod}: ${e.status ?? 'no response'} ${e.message} (retrying quietly)`);
    this.failing = true;
  }
}
