/**
 * Test helpers for the local executor: a RunSink that records every call
 * (the executor's own seam, so a fake is fine), run specs, a `materialize`
 * that writes small Python scripts into dest/app, temp dirs, and waiting.
 * Everything else in these tests is real: processes, files, signals, podman.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HardwareProfile } from '@trainyard/shared';
import type { FinalStatus, RunSink, RunSpec } from '../../../src/executors/executor';
import { LocalExecutor, type LocalExecutorOptions } from '../../../src/executors/local';

export type SinkEvent =
  | { type: 'pending'; runId: string; reason: string; at: number }
  | { type: 'started'; runId: string; startedAt: string; ref: unknown; at: number }
  | { type: 'log'; runId: string; lines: Array<{ stream: 'stdout' | 'stderr' | 'system'; text: string }>; ref: unknown; at: number }
  | { type: 'finished'; runId: string; status: FinalStatus; exitCode: number | null; reason: string | null; at: number };

export class RecordingSink implements RunSink {
  events: SinkEvent[] = [];
  private waiters: Array<() => void> = [];

  private push(e: SinkEvent): void {
    this.events.push(e);
    for (const w of this.waiters.splice(0)) w();
  }
  async pending(runId: string, reason: string) {
    this.push({ type: 'pending', runId, reason, at: Date.now() });
  }
  async started(runId: string, info: { startedAt: string; ref: unknown }) {
    this.push({ type: 'started', runId, startedAt: info.startedAt, ref: structuredClone(info.ref), at: Date.now() });
  }
  async log(runId: string, lines: Array<{ stream: 'stdout' | 'stderr' | 'system'; text: string }>, ref?: unknown) {
    this.push({ type: 'log', runId, lines: structuredClone(lines), ref: structuredClone(ref), at: Date.now() });
  }
  async finished(runId: string, info: { status: FinalStatus; exitCode: number | null; reason: string | null; finishedAt: string }) {
    this.push({ type: 'finished', runId, status: info.status, exitCode: info.exitCode, reason: info.reason, at: Date.now() });
  }

  of(runId: string): SinkEvent[] {
    return this.events.filter((e) => e.runId === runId);
  }
  lines(runId: string, stream?: 'stdout' | 'stderr'): string[] {
    return this.of(runId).flatMap((e) => (e.type === 'log' ? e.lines.filter((l) => !stream || l.stream === stream).map((l) => l.text) : []));
  }
  finishedEvent(runId: string) {
    return this.of(runId).find((e): e is Extract<SinkEvent, { type: 'finished' }> => e.type === 'finished');
  }
  startedEvent(runId: string) {
    return this.of(runId).find((e): e is Extract<SinkEvent, { type: 'started' }> => e.type === 'started');
  }
  /** the last ref the sink saw for a run (from started() or log()), as the store would hold it */
  lastRef(runId: string): unknown {
    const withRef = this.of(runId).filter((e) => (e.type === 'started' || e.type === 'log') && e.ref !== undefined);
    const last = withRef[withRef.length - 1] as { ref: unknown } | undefined;
    return last?.ref ?? null;
  }

  /** resolves when `pred` holds, rejects after timeoutMs with a dump of what was seen */
  async waitFor(pred: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pred()) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; sink saw:\n${JSON.stringify(this.events.map(({ at: _at, ...e }) => e), null, 1).slice(0, 4000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  waitFinished(runId: string, timeoutMs = 15_000) {
    return this.waitFor(() => this.finishedEvent(runId) !== undefined, `run ${runId} to finish`, timeoutMs).then(() => this.finishedEvent(runId)!);
  }
  waitLine(runId: string, text: string, timeoutMs = 15_000) {
    return this.waitFor(() => this.lines(runId).includes(text), `line ${JSON.stringify(text)} of run ${runId}`, timeoutMs);
  }
}

/** the RecordingSink with an outage switch: every write ('all') or only finished() ('finals') throws as a stopped store would */
export class FakeOutageSink extends RecordingSink {
  down: 'all' | 'finals' | null = null;
  refusedFinals = 0;
  refused = 0;
  private check(): void {
    if (this.down !== 'all') return;
    this.refused++;
    throw new Error('connect ECONNREFUSED 127.0.0.1:5432 (fake outage)');
  }
  override async pending(runId: string, reason: string) {
    this.check();
    return super.pending(runId, reason);
  }
  override async started(runId: string, info: { startedAt: string; ref: unknown }) {
    this.check();
    return super.started(runId, info);
  }
  override async log(runId: string, lines: Array<{ stream: 'stdout' | 'stderr' | 'system'; text: string }>, ref?: unknown) {
    this.check();
    return super.log(runId, lines, ref);
  }
  override async finished(runId: string, info: Parameters<RecordingSink['finished']>[1]) {
    if (this.down) {
      this.refused++;
      this.refusedFinals++;
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432 (fake outage)');
    }
    return super.finished(runId, info);
  }
}

export const SMALL: HardwareProfile = { name: 'cpu-small', cpu: 1, memory: '1Gi', pricePerHour: 0.05 };

let seq = 0;
export function runId(): string {
  seq += 1;
  return `run_${Date.now().toString(36)}${process.pid.toString(36)}${seq.toString(36).padStart(3, '0')}`.slice(0, 44);
}

/** A spec whose entrypoint runs `python <script>.py` (scripts are written by `materializeScripts`). */
export function spec(script: string, over: Partial<RunSpec> = {}): RunSpec {
  return {
    id: runId(),
    model: 'eta-correction',
    version: 'abc123',
    entrypoint: 'train',
    command: `python ${script}.py`,
    params: { lr: 0.1, epochs: 3 },
    hardware: SMALL,
    maxDurationSeconds: 60,
    sweepId: null,
    parallelism: null,
    image: { ref: 'oci-layout:/nowhere:abc123', digest: `sha256:${'0'.repeat(64)}`, baseImage: null },
    ...over,
  };
}

/** materialize(): every script into dest/app, a tiny `trainyard` helper module into dest/opt/trainyard/python. */
export function materializeScripts(scripts: Record<string, string>): LocalExecutorOptions['materialize'] {
  return async (_spec, dest) => {
    await mkdir(join(dest, 'app'), { recursive: true });
    await mkdir(join(dest, 'opt', 'trainyard', 'python'), { recursive: true });
    await writeFile(
      join(dest, 'opt', 'trainyard', 'python', 'trainyard.py'),
      'import json, os\ndef params():\n    return json.loads(os.environ.get("TRAINYARD_PARAMS", "{}"))\n' +
        'def log_metric(name, value, step=None):\n    print("::trainyard:metric " + json.dumps({"name": name, "value": value, "step": step}), flush=True)\n',
    );
    for (const [name, body] of Object.entries(scripts)) await writeFile(join(dest, 'app', `${name}.py`), body);
  };
}

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `trainyard-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function executor(runsDir: string, scripts: Record<string, string>, over: Partial<LocalExecutorOptions> = {}): LocalExecutor {
  return new LocalExecutor({
    config: { maxConcurrent: 4, podman: 'auto', python: 'python3' },
    cpuCount: 64,
    memoryBytes: 256 * 1024 ** 3,
    runsDir,
    materialize: materializeScripts(scripts),
    log: () => {},
    ...over,
  });
}

/** true when the process exists and is not a zombie */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
