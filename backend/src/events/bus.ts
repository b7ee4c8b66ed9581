/**
 * In-process event bus: services publish model changes, GET /v1/events
 * streams them as server-sent events, log followers wait on per-run signals.
 */
import { EventEmitter } from 'node:events';
import type { TrainyardEvent } from '@trainyard/shared';

export class EventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(0);
  }
  publish(event: TrainyardEvent): void {
    this.emitter.emit('event', event);
  }
  subscribe(fn: (e: TrainyardEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
  /** a run got new log lines (or finished): wakes followers of that run */
  logsChanged(runId: string): void {
    this.emitter.emit(`logs:${runId}`);
  }
  onLogs(runId: string, fn: () => void): () => void {
    this.emitter.on(`logs:${runId}`, fn);
    return () => this.emitter.off(`logs:${runId}`, fn);
  }
}
