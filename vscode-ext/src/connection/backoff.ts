/** Reconnect delays: 0.5 s doubling to 15 s, reset once a stream opens. Pure, for tests. */
export class Backoff {
  private n = 0;
  constructor(private readonly firstMs = 500, private readonly maxMs = 15000) {}
  next(): number { return Math.min(this.maxMs, this.firstMs * 2 ** this.n++); }
  reset(): void { this.n = 0; }
}

/** Collects items and hands them over at most once per `ms` (one refresh per burst). */
export class Batcher<T> {
  private items: T[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  constructor(private readonly ms: number, private readonly flush: (items: T[]) => void) {}
  push(item: T): void {
    this.items.push(item);
    this.timer ??= setTimeout(() => this.drain(), this.ms);
  }
  drain(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.items.length) return;
    const batch = this.items;
    this.items = [];
    this.flush(batch);
  }
  dispose(): void { if (this.timer) clearTimeout(this.timer); this.timer = null; this.items = []; }
}
