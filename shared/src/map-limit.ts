/**
 * Runs fn over items, at most `limit` at a time; the results in the items' order (the first
 * failure rejects). With `yieldEvery: n`, the event loop gets a turn (setImmediate) before every
 * n-th item: for callbacks that mostly block (small files read with blocking calls), so timers
 * and sockets are still served while thousands of them run.
 */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>, opts: { yieldEvery?: number } = {}): Promise<R[]> {
  const out = new Array<R>(items.length);
  const every = opts.yieldEvery ?? 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      if (every && (i + 1) % every === 0) await new Promise<void>((r) => setImmediate(r)); // items start in index order
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
