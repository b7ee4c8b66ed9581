/**
 * The writes started ahead of a build (dependency-ahead.ts, code-ahead.ts) end when the server
 * closes (SnapshotsService.close aborts their signal), even while they wait for a base image that
 * never answers: a closed server writes nothing into its data home after.
 */
import assert from 'node:assert/strict';
import type { SnapshotEnvironment } from '@trainyard/shared';
import { writeCodeLayerAhead } from '../../src/snapshots/code-ahead';
import { writeDependencyLayerAhead } from '../../src/snapshots/dependency-ahead';
import { abortable } from '../../src/snapshots/abortable';
import type { ImageStore } from '../../src/images/image-store';

const never = new Promise<never>(() => undefined);
const env = { python: '3.11.2', implementation: 'cpython', platform: 'linux', machine: 'x86_64', abi: 'cpython-311-x86_64-linux-gnu', distributions: [] } as unknown as SnapshotEnvironment;
/** a store no write may touch: these writes must stop before they get to it */
const untouchable = new Proxy({}, { get: (_t, k) => { throw new Error(`the store was used (${String(k)})`); } }) as ImageStore;

const settlesWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => 'settled'), new Promise((r) => setTimeout(() => r(`still waiting after ${ms} ms`), ms))]);

describe('writes ahead of a build, on close', () => {
  it('end while they wait for a base image that never answers, without touching the store', async () => {
    const closing = new AbortController();
    const code = writeCodeLayerAhead({ store: untouchable, env, base: never, scan: () => never, verified: Promise.resolve(), files: () => [], compression: { algorithm: 'gzip', level: 6 }, signal: closing.signal });
    const deps = writeDependencyLayerAhead({ store: untouchable, env, model: 'm', base: never, scan: () => never, verified: Promise.resolve(), inPlace: () => true, source: (sha) => ({ file: sha }), cacheDir: '/nonexistent', compression: { algorithm: 'gzip', level: 6 }, signal: closing.signal });
    assert.equal(await settlesWithin(Promise.race([code, deps]), 100), 'still waiting after 100 ms', 'they wait for the base');
    closing.abort(new Error('closing'));
    assert.equal(await settlesWithin(Promise.all([code, deps]), 2000), 'settled');
  });

  it('abortable: the promise, or the signal\'s reason as soon as it aborts; nothing is left listening', async () => {
    const c = new AbortController();
    assert.equal(await abortable(Promise.resolve(7), c.signal), 7);
    const waiting = abortable(never, c.signal);
    c.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    await assert.rejects(abortable(Promise.resolve(1), c.signal), /stop/, 'already aborted');
    // settled promises leave no listener behind on a long-lived signal
    const long = new AbortController();
    let added = 0;
    let removed = 0;
    const add = long.signal.addEventListener.bind(long.signal);
    const remove = long.signal.removeEventListener.bind(long.signal);
    long.signal.addEventListener = ((...a: Parameters<typeof add>) => (added++, add(...a))) as typeof add;
    long.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (removed++, remove(...a))) as typeof remove;
    for (let i = 0; i < 5; i++) await abortable(Promise.resolve(i), long.signal);
    await assert.rejects(abortable(Promise.reject(new Error('no')), long.signal), /no/);
    assert.deepEqual([added, removed], [6, 6]);
  });
});
