/**
 * Archives a run's container log into the store through the RunSink while the pod runs
 * (a poll every pollMs) and once more at its end (drain), so logs outlive the pod. The
 * API returns the whole log each time; the archiver remembers how many complete lines it
 * has handed over for which pod (the ref, stored atomically with the lines, so a
 * restarted backend continues where it left off and never archives a line twice). A
 * partial last line waits for its newline until the end.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { toKubeError } from './client';
import { CONTAINER } from './manifests';

const SETTLE_MS = 200;
const QUIET_MS = 200;
const LOUD_QUIET_MS = 1200;
const LOUD_LINES = 500;
const SETTLE_MAX_MS = 10_000;

export interface LogRef {
  pod: string | null;
  logLines: number;
}

type Line = { stream: 'stdout' | 'stderr' | 'system'; text: string };

export interface LogArchiverOptions {
  core: CoreV1Api;
  namespace: string;
  pollMs: number;
  ref: Partial<LogRef> | null;
  emit: (lines: Line[], ref: LogRef) => Promise<void>;
  /** runs fn on the run's chain (so log lines and state changes stay in order) */
  enqueue: (fn: () => Promise<void>) => void;
  log: (msg: string) => void;
}

export class LogArchiver {
  ref: LogRef;
  private timer: NodeJS.Timeout | null = null;
  private following: string | null = null;
  private busy = false;
  private warned = false;
  private failing = false;

  constructor(private readonly o: LogArchiverOptions) {
    this.ref = { pod: o.ref?.pod ?? null, logLines: typeof o.ref?.logLines === 'number' ? o.ref.logLines : 0 };
  }

  /** poll this pod's log until stop() or drain() */
  follow(pod: string): void {
    if (this.following === pod && this.timer) return;
    this.stop();
    this.following = pod;
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.o.enqueue(() => this.fetch(pod, false).then(() => undefined).finally(() => (this.busy = false)));
    }, this.o.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.following = null;
  }

  /**
   * the last fetches, partial last line included; call on the run's chain. The container runtime
   * may still be writing the end of the log when the container is reported terminated (seen with
   * 50,000 lines written just before exit: up to ~3,800 lines came later, under load), so reads
   * repeat SETTLE_MS apart until the log has been quiet for a while: QUIET_MS normally (a run that
   * printed little at its end costs one more read), LOUD_QUIET_MS when the log grew while settling
   * or LOUD_LINES or more came since the last poll. At most SETTLE_MAX_MS in all.
   */
  async drain(pod: string): Promise<void> {
    this.stop();
    const started = Date.now();
    let quietFor = QUIET_MS;
    for (let quiet = 0, first = true; Date.now() - started < SETTLE_MAX_MS; first = false) {
      const got = await this.fetch(pod, false);
      if (got < 0) break;
      if (got > 0) {
        quiet = 0;
        // still growing while we settle, or a burst since the last poll: the runtime may be behind
        if (!first || got >= LOUD_LINES) quietFor = LOUD_QUIET_MS;
      } else if (!first) {
        quiet += SETTLE_MS;
        if (quiet >= quietFor) break;
      }
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
    await this.fetch(pod, true);
  }

  /** how many lines it archived; -1 when the log could not be read */
  private async fetch(pod: string, final: boolean): Promise<number> {
    let text: string;
    try {
      text = await this.o.core.readNamespacedPodLog({ name: pod, namespace: this.o.namespace, container: CONTAINER });
    } catch (err) {
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
      return -1;
    }
    this.failing = false;
    const from = this.ref.pod === pod ? this.ref.logLines : 0;
    const parts = String(text ?? '').split('\n');
    const last = parts.pop() ?? '';
    if (final && last !== '') parts.push(last);
    const fresh = parts.slice(from);
    if (fresh.length === 0) return 0;
    // the offset moves only once the store took the lines: a failed write re-sends them, none is lost
    const next = { pod, logLines: from + fresh.length };
    await this.o.emit(fresh.map((t) => ({ stream: 'stdout' as const, text: t })), { ...next });
    this.ref = next;
    return fresh.length;
  }
}
