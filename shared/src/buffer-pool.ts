/**
 * Byte buffers of one size, taken and given back, for loops that read, hash or compress bytes
 * and then drop them. V8 counts every Buffer over 4 KiB toward its external-memory trigger and
 * starts a full mark-compact of the whole heap about every 64 MiB of new ones: a cold save of a
 * 50 MB environment moved ~350 MiB through fresh buffers, a dozen full GCs (~0.8 s of CPU).
 * A buffer must not be used, or kept in a view, after it is given back.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  /** `keep`: at most this many idle buffers are held (the rest are left to the GC) */
  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(b: Buffer): void {
    if (b.length === this.size && b.byteOffset === 0 && this.free.length < this.keep && !this.free.includes(b)) this.free.push(b);
  }

  /** fn with a buffer of the pool, given back when fn settles */
  async with<T>(fn: (b: Buffer) => Promise<T>): Promise<T> {
    const b = this.take();
    try {
      return await fn(b);
    } finally {
      this.give(b);
    }
  }
}
