/**
 * A small list+watch informer for one resource with a label selector, written for this
 * executor so every failure path is explicit:
 *  - list, then watch from the list's resourceVersion; each watch resumes from the last
 *    resourceVersion seen (events and BOOKMARKs), so a closed or timed-out watch or an
 *    API server restart loses nothing and replays nothing;
 *  - a 410 Gone (HTTP status or an ERROR event in the stream) relists, and the relist is
 *    diffed against the cache so deletions missed meanwhile are still delivered;
 *  - any other error backs off exponentially (capped, jittered) before the next try;
 *  - a watch that stays silent past its own timeout (the Watch's inactivity bound, client.ts:
 *    a hung API server or a dead connection) relists before it watches again, since what
 *    happened meanwhile is unknown; the list is bounded like any request;
 *  - an event older than what the cache holds for that object is dropped as stale;
 *  - `failing` says since when lists and watches fail (readers decide when the cache is too old);
 *  - stop() aborts the open watch.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { backoffDelay, sleep, toKubeError, WATCH_SECONDS_MAX, type KubeClients } from './client';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface InformerOptions<T extends KubernetesObject> {
  name: string;
  kube: KubeClients;
  /** the collection path, e.g. /apis/batch/v1/namespaces/ns/jobs */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  onChange: (type: EventType, obj: T) => void;
  /** keeps only what the cache needs of each object (metadata name, namespace, uid and resourceVersion must stay) */
  transform?: (obj: T) => T;
  backoff?: { initialMs: number; maxMs: number };
  log?: (msg: string) => void;
}

export interface InformerStats {
  lists: number;
  watches: number;
  gone: number;
  errors: number;
  stale: number;
  stalls: number;
}

/** compares resourceVersions; they are opaque but etcd revisions (decimal) in practice */
export function newerThan(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return true;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

export class Informer<T extends KubernetesObject> {
  readonly cache = new Map<string, T>();
  readonly stats: InformerStats = { lists: 0, watches: 0, gone: 0, errors: 0, stale: 0, stalls: 0 };
  resourceVersion = '';
  /** since when (ms) lists and watches have failed, and the last failure; null while the API server answers */
  failing: { since: number; error: string } | null = null;
  private stopped = false;
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private synced = false;

  constructor(private readonly o: InformerOptions<T>) {}

  /** lists once (so the cache is complete when this resolves), then watches in the background */
  async start(): Promise<void> {
    this.stopped = false;
    await this.relist();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** for tests: make the next watch resume from this (e.g. long-compacted) resourceVersion */
  resumeFrom(rv: string): void {
    this.resourceVersion = rv;
    this.abort?.abort();
  }

  private key(obj: T): string {
    return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
  }

  private async relist(): Promise<void> {
    const res = await this.o.list();
    this.stats.lists++;
    const seen = new Set<string>();
    for (const raw of res.items) {
      const obj = this.o.transform ? this.o.transform(raw) : raw;
      const k = this.key(obj);
      seen.add(k);
      const old = this.cache.get(k);
      if (old && old.metadata?.uid === obj.metadata?.uid && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) continue;
      this.cache.set(k, obj);
      this.o.onChange(old ? 'MODIFIED' : 'ADDED', obj);
    }
    for (const [k, old] of [...this.cache]) {
      if (seen.has(k)) continue;
      this.cache.delete(k);
      this.o.onChange('DELETED', old);
    }
    this.resourceVersion = res.metadata?.resourceVersion ?? '';
    this.synced = true;
    this.failing = null;
  }

  private apply(type: string, raw: T): void {
    const obj = type !== 'BOOKMARK' && this.o.transform ? this.o.transform(raw) : raw;
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (type === 'BOOKMARK') return;
    const k = this.key(obj);
    const old = this.cache.get(k);
    if (old && old.metadata?.uid === obj.metadata?.uid && !newerThan(rv, old.metadata?.resourceVersion)) {
      this.stats.stale++;
      return;
    }
    if (type === 'DELETED') {
      this.cache.delete(k);
      this.o.onChange('DELETED', obj);
    } else {
      this.cache.set(k, obj);
      this.o.onChange(old ? 'MODIFIED' : 'ADDED', obj);
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    const b = this.o.backoff ?? { initialMs: 250, maxMs: 10_000 };
    while (!this.stopped) {
      try {
        if (!this.synced) await this.relist();
        const outcome = await this.watchOnce();
        this.failing = null;
        if (outcome === 'gone') {
          this.stats.gone++;
          this.synced = false;
          this.o.log?.(`${this.o.name}: resourceVersion ${this.resourceVersion} is gone (410); relisting`);
          continue;
        }
        if (outcome === 'stalled') {
          this.stats.stalls++;
          this.synced = false;
          this.o.log?.(`${this.o.name}: the watch stalled (no answer, not even a close, in time); relisting`);
          continue;
        }
        failures = 0; // a clean close (server timeout, our resumeFrom): resume at once
      } catch (err) {
        if (this.stopped) break;
        const e = toKubeError(err);
        if (e.status === 410) {
          this.stats.gone++;
          this.synced = false;
          continue;
        }
        this.stats.errors++;
        this.failing = { since: this.failing?.since ?? Date.now(), error: `${e.status ?? 'no response'}: ${e.message}` };
        const delay = backoffDelay(failures++, b.initialMs, b.maxMs);
        this.o.log?.(`${this.o.name}: watch failed (${e.status ?? 'no response'}: ${e.message}); retrying in ${delay} ms`);
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          void sleep(delay).then(resolve);
        });
        this.wake = null;
      }
    }
  }

  /** one watch request; resolves 'closed' on a clean end, 'gone' on a 410 ERROR event, 'stalled' when it went silent, rejects on failure */
  private watchOnce(): Promise<'closed' | 'gone' | 'stalled'> {
    return new Promise((resolve, reject) => {
      let gone = false;
      let failed: unknown = null;
      let ended = false;
      const params: Record<string, string | number | boolean | undefined> = {
        resourceVersion: this.resourceVersion || undefined,
        allowWatchBookmarks: true,
        labelSelector: this.o.labelSelector,
        fieldSelector: this.o.fieldSelector,
        timeoutSeconds: WATCH_SECONDS_MAX - 10 + Math.floor(Math.random() * 10),
      };
      this.stats.watches++;
      this.o.kube.watch
        .watch(
          this.o.path,
          params,
          (type, obj) => {
            if (gone || failed) return;
            if (type === 'ERROR') {
              const status = obj as { code?: number; message?: string };
              if (status?.code === 410) gone = true;
              else failed = Object.assign(new Error(status?.message ?? 'watch error'), { code: status?.code });
              this.abort?.abort();
              return;
            }
            this.failing = null;
            try {
              this.apply(type, obj as T);
            } catch (err) {
              this.o.log?.(`${this.o.name}: handler failed: ${(err as Error).message}`);
            }
          },
          (err) => {
            ended = true;
            if (gone) return resolve('gone');
            if (failed) return reject(failed);
            // our own abort (stop, resumeFrom) ends a watch cleanly; the client's inactivity bound is a stall
            const name = (err as Error | null)?.name;
            if (name === 'TimeoutError' && !this.stopped) return resolve('stalled');
            if (err && name !== 'AbortError' && name !== 'TimeoutError') return reject(err);
            resolve('closed');
          },
        )
        .then((ctrl) => {
          this.abort = ctrl;
          // watch() resolves on a 200 and also after a failed request (having called done first)
          if (!ended) this.failing = null;
          if (this.stopped) ctrl.abort();
        }, reject);
    });
  }
}
