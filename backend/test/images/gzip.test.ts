/** parallelGzip (compression.ts): one gzip member, compressed in independent pieces; same bytes ⇒ same blob. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { PIECE as GZIP_CHUNK, parallelGzip } from '../../src/images/compression';

async function gz(pieces: Buffer[], parallel?: number): Promise<Buffer> {
  const out: Buffer[] = [];
  async function* src() {
    for (const p of pieces) yield p;
  }
  for await (const c of parallelGzip(src(), parallel)) out.push(...c);
  return Buffer.concat(out);
}

function split(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

describe('images/parallel gzip', function () {
  this.timeout(60_000);
  const text = Buffer.from('def f(x):\n    return x * 42\n'.repeat(150_000));
  const inputs: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from('x')],
    ['a chunk less one', randomBytes(GZIP_CHUNK - 1)],
    ['exactly one chunk', randomBytes(GZIP_CHUNK)],
    ['three chunks and a bit, random', randomBytes(GZIP_CHUNK * 3 + 17)],
    ['compressible text over several chunks', text],
  ];

  for (const [name, data] of inputs) {
    it(`round-trips as a single gzip member: ${name}`, async () => {
      const blob = await gz([data]);
      assert.deepEqual(gunzipSync(blob), data);
      assert.deepEqual(blob.subarray(0, 10), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), 'no name, mtime 0, OS unix');
      // one deflate stream: the body alone inflates to the whole input
      assert.deepEqual(inflateRawSync(blob.subarray(10, blob.length - 8)), data);
      assert.equal(blob.readUInt32LE(blob.length - 4), data.length % 2 ** 32);
    });
  }

  it('gives the same bytes however the input is cut and however many pieces run at once', async () => {
    const data = Buffer.concat([randomBytes(GZIP_CHUNK + 5000), text]);
    const a = await gz([data], 4);
    const b = await gz(split(data, 4097), 1);
    const c = await gz(split(data, GZIP_CHUNK * 2 + 3), 2);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
  });

  it('is read by gzip(1)', async () => {
    const blob = await gz([text]);
    assert.deepEqual(execFileSync('gzip', ['-dc'], { input: blob, maxBuffer: 64 << 20 }), text);
  });
});
