/** mapLimit (shared/src/map-limit.ts): order, the limit, the first failure, and the event loop's turns with yieldEvery. */
import assert from 'node:assert/strict';
import { mapLimit } from '@trainyard/shared/map-limit';

describe('mapLimit', () => {
  it('keeps the items\' order, runs at most `limit` at once, and rejects with the first failure', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30]);
    assert.equal(most, 2);
    await assert.rejects(mapLimit([1, 2, 3], 2, async (n) => { if (n === 2) throw new Error('two'); return n; }), /two/);
  });

  it('gives the event loop a turn every n items with yieldEvery, and none without', async () => {
    const items = Array.from({ length: 300 }, (_, i) => i);
    const turnAt = async (opts?: { yieldEvery: number }) => {
      let done = 0;
      let seenAt = -1;
      setImmediate(() => (seenAt = done));
      await mapLimit(items, 4, async () => void done++, opts);
      return seenAt;
    };
    assert.equal(await turnAt(), -1, 'callbacks that never wait keep the loop until the end');
    const at = await turnAt({ yieldEvery: 100 });
    assert.ok(at >= 0 && at < 300, `the loop had a turn after ${at} of 300 items`);
  });
});
