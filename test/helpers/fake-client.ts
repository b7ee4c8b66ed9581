/**
 * A fake API client for the shared UI's jsdom tests (test/dashboard): the components take any
 * object with the UiClient methods, and these tests check what the components do with answers
 * they choose, so no backend runs. Each method answers from the test's `answers`, else from the
 * file's defaults, and records its arguments in `calls`; `events()` yields what `push()` is given
 * until its signal aborts (or throws once after `drop()`); `followLogs()` yields `logLines()`. The real client against the real
 * API is covered by test/api and the dashboard, VS Code and JupyterLab e2e suites.
 */
import type { LogLine, TrainyardEvent } from '@trainyard/shared';
import type { UiClient } from '../../shared/src/ui/context';

type Answer = (...a: any[]) => unknown;
type AnsweredMethod = Exclude<keyof UiClient, 'events' | 'followLogs' | 'me'>;
const ANSWERED: readonly AnsweredMethod[] = [
  'listModels', 'listVersions', 'listHardware', 'estimate', 'launch', 'listRuns', 'getRun', 'cancelRun',
  'getLogs', 'getMetrics', 'getVersion', 'listSchedules', 'deleteSchedule', 'getCosts', 'listArtifacts',
];

/** A test's answers: any of the client's methods, `me` (shows the "mine" filters), and the lines followLogs yields. */
export type FakeAnswers = Partial<Record<AnsweredMethod | 'me' | 'logLines', Answer>>;
/** A file's defaults: an answer for every method the components may call. */
export type FakeDefaults = Record<AnsweredMethod, Answer> & FakeAnswers;

export interface FakeClient {
  client: UiClient;
  /** the arguments of each call, by method name */
  calls: Record<string, unknown[][]>;
  /** hands an event to the open events() streams */
  push(e: TrainyardEvent): void;
  /** ends the open events() stream with an error, as a dropped connection does (the UI reconnects) */
  drop(): void;
}

export function createFakeClient(defaults: FakeDefaults, answers: FakeAnswers = {}): FakeClient {
  const calls: Record<string, unknown[][]> = {};
  const queue: TrainyardEvent[] = [];
  let wake: (() => void) | null = null;
  let dropped = false;
  const record = (name: string, args: unknown[]) => (calls[name] ??= []).push(args);
  const answer = (name: keyof FakeAnswers) => answers[name] ?? defaults[name];
  const client: Record<string, unknown> = {
    async *followLogs(id: string): AsyncGenerator<LogLine> {
      record('followLogs', [id]);
      for (const l of (answer('logLines')?.() as LogLine[] | undefined) ?? []) yield l;
    },
    async *events(opts: { signal?: AbortSignal } = {}): AsyncGenerator<TrainyardEvent> {
      record('events', []);
      while (!opts.signal?.aborted) {
        if (dropped) {
          dropped = false;
          throw new Error('the event stream dropped');
        }
        while (queue.length) yield queue.shift()!;
        await new Promise<void>((r) => { wake = r; opts.signal?.addEventListener('abort', () => r(), { once: true }); });
      }
    },
  };
  const methods: (AnsweredMethod | 'me')[] = answer('me') ? [...ANSWERED, 'me'] : [...ANSWERED];
  for (const name of methods) {
    client[name] = async (...args: unknown[]) => {
      record(name, args);
      return answer(name)!(...args);
    };
  }
  return {
    client: client as unknown as UiClient,
    calls,
    push(e) { queue.push(e); wake?.(); },
    drop() { dropped = true; wake?.(); },
  };
}
