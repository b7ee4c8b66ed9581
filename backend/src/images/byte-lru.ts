/**
 * Buffers by key, the least recently used dropped past `maxBytes`; a buffer larger than the
 * bound is not kept. The layer writer's caches of a re-save's unchanged work (compression.ts
 * PieceCache: compressed pieces; layer.ts: the tar bytes of a group of entries); each get counts
 * a hit or a miss.
 */
export class ByteLru {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string): Buffer | undefined {
    const value = this.entries.get(key);
    if (!value) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key); // most recently used: last in the map's order
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: Buffer): void {
    if (value.length > this.maxBytes || this.entries.has(key)) return;
    this.entries.set(key, value);
    this.bytes += value.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }
}
