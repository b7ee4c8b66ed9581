/**
 * The one seam through which an executor records that a run ended: "write, confirm, then
 * move on", never "mark final, then write".
 *
 * write() stores the final state (RunSink.finished) with bounded exponential backoff and
 * says whether the store confirmed it. Only then may the executor forget the run and free
 * its slot. When every attempt failed (the store is down for longer than the backoff), the
 * executor parks the run here with a way to re-derive it from what the executor itself
 * holds (the local wrapper's exit and cancel files; the Kubernetes Job and pods): a
 * periodic pass hands each parked run back to that function, which derives the outcome
 * again and calls write() again. A backend that restarts meanwhile needs nothing from here:
 * the store still has the run as Pending/Running, so start() re-derives it the same way.
 */
import type { FinalInfo } from './executor';

export interface RetryPolicy {
  attempts: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

/** 6 attempts, 0.2 s doubling to at most 5 s apart: about 6 s before a run is parked */
export const FINAL_RETRY: RetryPolicy = { attempts: 6, firstDelayMs: 200, maxDelayMs: 5000 };
/** how often parked runs are re-derived */
export const REDERIVE_MS = 5000;

/** fn(), tried up to policy.attempts times with doubling delays; the last error is thrown */
export async function withRetries<T>(fn: () => Promise<T>, policy: RetryPolicy, onRetry?: (err: Error, attempt: number, delayMs: number) => void): Promise<T> {
  let delay = policy.firstDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.attempts) throw err;
      onRetry?.(err as Error, attempt, delay);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, policy.maxDelayMs);
    }
  }
}

export interface FinalWritesOptions {
  /** one attempt at storing the end (RunSink.finished, through the executor's ordering) */
  write: (runId: string, info: FinalInfo) => Promise<void>;
  retry?: RetryPolicy;
  rederiveMs?: number;
  log: (msg: string) => void;
}

export class FinalWrites {
  private readonly parked = new Map<string, () => void | Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private passing: Promise<void> | null = null;
  readonly retry: RetryPolicy;

  constructor(private readonly o: FinalWritesOptions) {
    this.retry = o.retry ?? FINAL_RETRY;
  }

  /** Stores the run's final state; true once the store confirmed it, false when every attempt failed. */
  async write(runId: string, info: FinalInfo): Promise<boolean> {
    try {
      await withRetries(() => this.o.write(runId, info), this.retry, (err, n, d) =>
        this.o.log(`run ${runId}: recording its end (${info.status}) failed (${err.message}); retry ${n} in ${d} ms`),
      );
      return true;
    } catch (err) {
      this.o.log(`run ${runId}: its end (${info.status}) is not recorded yet (${(err as Error).message}); the run is held (its slot too) and derived again every ${this.rederiveMs / 1000} s`);
      return false;
    }
  }

  /** the run's end could not be recorded: `rederive` is called on the next pass (once; it parks again if it fails again) */
  park(runId: string, rederive: () => void | Promise<void>): void {
    this.parked.set(runId, rederive);
  }

  isParked(runId: string): boolean {
    return this.parked.has(runId);
  }

  get size(): number {
    return this.parked.size;
  }

  private get rederiveMs(): number {
    return this.o.rederiveMs ?? REDERIVE_MS;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.pass(), this.rederiveMs);
    this.timer.unref();
  }

  /** stops the periodic pass (parked runs are left to the next start(), which finds them in the store) */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.passing;
    this.parked.clear();
  }

  /** hands every parked run back to its re-derivation; exported for tests */
  pass(): Promise<void> {
    if (this.passing) return this.passing;
    const due = [...this.parked];
    this.parked.clear();
    this.passing = (async () => {
      for (const [runId, rederive] of due) {
        try {
          await rederive();
        } catch (err) {
          this.o.log(`run ${runId}: deriving its end again failed (${(err as Error).message}); retried on the next pass`);
          if (!this.parked.has(runId)) this.parked.set(runId, rederive);
        }
      }
    })().finally(() => (this.passing = null));
    return this.passing;
  }
}
