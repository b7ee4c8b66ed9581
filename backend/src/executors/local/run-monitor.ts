/**
 * Watches one started run until it ends: tails its logs into the sink, and
 * detects the end from the wrapper's exit file, never from being the
 * process's parent (after a backend restart it is not our child).
 *
 * One tick at a time (fs.watch on the run dir for latency, plus a 200 ms
 * poll in case inotify misses or is unavailable): drain new log lines; if
 * the exit file exists, drain the rest (including a last line without
 * newline) and report the outcome; if the wrapper is gone without an exit
 * file, the run is lost (its leftovers are killed). Backstops held here in
 * case `timeout` itself fails: a cancelled run still alive after the grace
 * period, or any run alive well past its deadline, gets SIGKILL.
 *
 * Cancellation is durable: a `cancelled` marker file in the run dir, so a run
 * cancelled just before a crash is still reported Cancelled afterwards.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunSink, RunSpec } from '../executor';
import { LOST_REASON, outcomeOf, type Outcome } from './outcome';
import { podmanQuiet, podmanStop, type PodmanSetup } from '../../runtime/podman';
import { isAlive, signalRun } from './proc';
import { refIdentity, type LocalRunRef } from './ref';
import { LogTailer, type Line, type Positions } from './tailer';
import { writeAtomic } from '@trainyard/shared/write-atomic';
import { KILL_AFTER_SECONDS, readExit } from './wrapper';

export const POLL_MS = 200;
/** the backend's own backstop after the deadline or a cancel, beyond timeout's grace */
const BACKSTOP_SECONDS = 5;

export interface MonitorDeps {
  sink: () => RunSink;
  /** serializes sink calls across runs (keeps started/log/finished in order) */
  call: <T>(fn: () => Promise<T>) => Promise<T>;
  podman: () => PodmanSetup | null;
  onEnd: (runId: string, outcome: Outcome) => void;
  /** the run ended but its end could not be handled (e.g. its last logs could not be stored); the monitor is done */
  onEndFailed: (runId: string, err: Error) => void;
  log: (msg: string) => void;
}

export class RunMonitor {
  private readonly tailer: LogTailer;
  private ref: LocalRunRef;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** the last tick's error, logged once while it repeats (a store outage fails every tick) */
  private failing: string | null = null;
  private stopped = false;
  private ended = false;
  private killAt: number | null = null;
  private killed = false;
  private readonly deadline: number;

  constructor(
    readonly spec: RunSpec,
    private readonly runDir: string,
    ref: LocalRunRef,
    readonly startedAt: string,
    private readonly deps: MonitorDeps,
  ) {
    this.ref = ref;
    this.tailer = new LogTailer(runDir, { stdout: ref.stdout, stderr: ref.stderr });
    this.deadline = Date.parse(startedAt) + (spec.maxDurationSeconds + KILL_AFTER_SECONDS + BACKSTOP_SECONDS + 10) * 1000;
  }

  get currentRef(): LocalRunRef {
    return { ...this.ref, ...this.tailer.positions };
  }

  async start(): Promise<void> {
    if (await exists(join(this.runDir, 'cancelled'))) await this.signalCancel();
    try {
      this.watcher = watch(this.runDir, () => this.schedule());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      this.watcher = null; // the poll alone will do
    }
    this.timer = setInterval(() => this.schedule(), POLL_MS);
    this.schedule();
  }

  /** Stops watching; the run itself keeps going. Waits for a tick in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clear();
    await this.running;
  }

  /** Records the cancel durably, then asks the run to stop: SIGTERM now, SIGKILL after the grace period. */
  async cancel(): Promise<void> {
    await writeAtomic(join(this.runDir, 'cancelled'), new Date().toISOString());
    await this.signalCancel();
    this.schedule();
  }

  private async signalCancel(): Promise<void> {
    this.killAt = Date.now() + (KILL_AFTER_SECONDS + BACKSTOP_SECONDS) * 1000;
    if (this.ref.mode === 'podman' && this.ref.container) {
      const setup = this.deps.podman();
      if (setup) podmanStop(setup, this.ref.container, KILL_AFTER_SECONDS);
    } else {
      // TERM reaches `timeout` (which then arms its own SIGKILL after the grace period) and the command
      await signalRun(refIdentity(this.ref), this.spec.id, 'SIGTERM');
    }
  }

  private clear(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped || this.ended) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.tick()
      .then(() => void (this.failing = null))
      .catch((err) => {
        const msg = (err as Error).message;
        if (msg !== this.failing) this.deps.log(`run ${this.spec.id}: ${msg}${this.ended ? '' : ' (retried on each tick; logged again when the error changes)'}`);
        this.failing = msg;
        // past the point of no return (the end was seen, timers are cleared): hand it back, or it would stay Running
        if (this.ended) this.deps.onEndFailed(this.spec.id, err as Error);
      })
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped && !this.ended) {
          this.again = false;
          this.schedule();
        }
      });
  }

  private emit = async (lines: Line[], positions: Positions): Promise<void> => {
    const ref: LocalRunRef = { ...this.ref, ...positions };
    await this.deps.call(() => this.deps.sink().log(this.spec.id, lines, ref));
    this.ref = ref;
  };

  private async tick(): Promise<void> {
    await this.tailer.drain(this.emit, false);
    if (this.stopped) return;
    let exit = await readExit(this.runDir);
    if (!exit) {
      const alive = await isAlive(refIdentity(this.ref));
      if (alive) {
        await this.backstops();
        return;
      }
      exit = await readExit(this.runDir); // it may have ended between the two looks
    }
    if (this.stopped) return;
    this.ended = true;
    this.clear();
    let outcome: Outcome;
    if (exit) {
      await this.finalDrain();
      outcome = outcomeOf({
        code: exit.code,
        elapsedSeconds: exit.elapsedSeconds,
        maxSeconds: this.spec.maxDurationSeconds,
        cancelled: await exists(join(this.runDir, 'cancelled')),
        mode: this.ref.mode,
        lastStderrLine: await lastLine(join(this.runDir, 'stderr.log')),
      });
    } else {
      await this.killLeftovers();
      await this.finalDrain();
      const cancelled = await exists(join(this.runDir, 'cancelled'));
      outcome = cancelled
        ? { status: 'Cancelled', exitCode: null, reason: 'cancelled by user' }
        : { status: 'Failed', exitCode: null, reason: LOST_REASON };
    }
    this.deps.onEnd(this.spec.id, outcome);
  }

  private async finalDrain(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.tailer.drain(this.emit, true);
        return;
      } catch (err) {
        if (attempt >= 4) throw err;
        await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
      }
    }
  }

  private async backstops(): Promise<void> {
    const now = Date.now();
    const late = (this.killAt !== null && now > this.killAt) || now > this.deadline;
    if (!late || this.killed) return;
    this.killed = true;
    this.deps.log(`run ${this.spec.id}: still running past its ${this.killAt !== null ? 'cancel grace period' : 'deadline'}; sending SIGKILL`);
    await this.killLeftovers();
  }

  /** SIGKILL whatever is left of the run (never the wrapper: it records the exit code). */
  private async killLeftovers(): Promise<void> {
    await signalRun(refIdentity(this.ref), this.spec.id, 'SIGKILL');
    const setup = this.deps.podman();
    if (this.ref.mode === 'podman' && this.ref.container && setup) {
      await podmanQuiet(setup, ['rm', '-f', '-t', '0', this.ref.container]);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The last non-empty line of a file (from its last 4 KiB), or null. */
export async function lastLine(path: string): Promise<string | null> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 4096);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
    return lines.length ? lines[lines.length - 1] : null;
  } finally {
    await fh.close();
  }
}
