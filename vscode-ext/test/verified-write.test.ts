/**
 * The VS Code host's artifact write (shared/src/verified-write.ts, also the CLI's): the file appears only when its
 * bytes are the listed ones; a wrong sha256, a short body or an abort leave neither the file nor
 * its `.trainyard-part` behind, and an existing file at the target is kept as it was.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeVerified } from '@trainyard/shared/verified-write';

const listed = (content: string) => ({ path: 'model/weights.bin', size: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex') });
const body = (content: string) => new Response(content).body!;

describe('VS Code artifact save: verified write', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'ty-vw-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the file when size and sha256 match, reporting the bytes', async () => {
    const seen: number[] = [];
    await writeVerified(body('weights v1\n'), listed('weights v1\n'), join(dir, 'w.bin'), (n) => seen.push(n));
    assert.equal(readFileSync(join(dir, 'w.bin'), 'utf8'), 'weights v1\n');
    assert.equal(seen.at(-1), 11);
    assert.deepEqual(readdirSync(dir), ['w.bin']);
  });

  it('leaves nothing (and an existing file untouched) when the bytes are not the listed ones', async () => {
    writeFileSync(join(dir, 'w.bin'), 'older');
    await assert.rejects(writeVerified(body('weights v2\n'), listed('weights v1\n'), join(dir, 'w.bin'), () => undefined),
      /model\/weights\.bin: downloaded 11 bytes with sha256 [0-9a-f]{64}, but the run kept 11 bytes with sha256 [0-9a-f]{64}; nothing was written/);
    await assert.rejects(writeVerified(body('weights'), listed('weights v1\n'), join(dir, 'w.bin'), () => undefined), /downloaded 7 bytes/);
    assert.equal(readFileSync(join(dir, 'w.bin'), 'utf8'), 'older');
    assert.deepEqual(readdirSync(dir), ['w.bin']);
  });

  it('stops on abort and leaves no part file', async () => {
    const ac = new AbortController();
    const endless = new ReadableStream<Uint8Array>({ pull(c) { c.enqueue(new Uint8Array(64 * 1024)); } });
    const done = writeVerified(endless, listed('x'), join(dir, 'w.bin'), (n) => { if (n > 1 << 20) ac.abort(); }, ac.signal);
    await assert.rejects(done, (e: Error) => e.name === 'AbortError');
    assert.equal(existsSync(join(dir, 'w.bin')), false);
    assert.deepEqual(readdirSync(dir), []);
  });
});
