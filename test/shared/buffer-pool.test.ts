/** BufferPool (shared/src/buffer-pool.ts): buffers are lent again once given back, and only its own. */
import assert from 'node:assert/strict';
import { BufferPool } from '@trainyard/shared/buffer-pool';

describe('shared/buffer-pool', () => {
  it('lends a given-back buffer again, keeps at most `keep` idle, and takes back only whole buffers of its size', async () => {
    const pool = new BufferPool(1024, 2);
    const [a, b, c] = [pool.take(), pool.take(), pool.take()];
    assert.equal(new Set([a, b, c]).size, 3);
    assert.ok([a, b, c].every((x) => x.length === 1024));
    for (const x of [a, b, c]) pool.give(x);
    const again = [pool.take(), pool.take(), pool.take()];
    assert.equal(again.filter((x) => x === a || x === b || x === c).length, 2, 'two kept, the third left to the GC');
    // another size, or a view into a larger allocation: not taken
    const foreign: Buffer[] = [Buffer.alloc(512), Buffer.from(new ArrayBuffer(2048), 1024, 1024)];
    for (const f of foreign) pool.give(f);
    const next = pool.take();
    assert.ok(!foreign.includes(next) && next.length === 1024 && next.byteOffset === 0);
    const fresh = new BufferPool(64, 4);
    const x = fresh.take();
    fresh.give(x);
    fresh.give(x); // given back twice: held once
    assert.equal(fresh.take(), x);
    assert.notEqual(fresh.take(), x);
    // with(): the buffer goes back when fn settles, also when it throws
    let lent: Buffer | undefined;
    await assert.rejects(fresh.with(async (buf) => ((lent = buf), Promise.reject(new Error('boom')))), /boom/);
    assert.equal(fresh.take(), lent);
  });
});
