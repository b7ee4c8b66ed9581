/** compression.ts: every gzip level and zstd round-trip, and the same tar gives the same blob however it arrives. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { crc32, deflateRawSync, gunzipSync, inflateRawSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { compressStream, DEFAULT_COMPRESSION, layerMediaType, MEDIA_LAYER_GZIP, MEDIA_LAYER_ZSTD, parseCompression, PIECE, PIECE_END, PieceCache, rawZstdFrame, storedPiece, type Compression } from '../../src/images/compression';

async function compress(pieces: Array<Buffer | typeof PIECE_END>, c: Compression, parallel?: number, cache?: PieceCache): Promise<Buffer> {
  const out: Buffer[] = [];
  async function* src() {
    for (const p of pieces) yield p;
  }
  for await (const b of compressStream(src(), c, parallel, undefined, cache)) out.push(...b);
  return Buffer.concat(out);
}

const split = (b: Buffer, size: number) => Array.from({ length: Math.ceil(b.length / size) }, (_, i) => b.subarray(i * size, (i + 1) * size));
const decompress = (b: Buffer, c: Compression) => (c.algorithm === 'gzip' ? gunzipSync(b) : zstdDecompressSync(b));

describe('images/compression', function () {
  this.timeout(60_000);
  const text = Buffer.from('def f(x):\n    return x * 42  # a line of python\n'.repeat(60_000));
  const data = Buffer.concat([text.subarray(0, PIECE + 999), randomBytes(2 * PIECE + 5), text]);
  const settings: Compression[] = ['gzip:1', 'gzip:6', 'gzip:9', 'zstd:1', 'zstd:3', 'zstd:19'].map(parseCompression);

  for (const c of settings) {
    it(`${c.algorithm}:${c.level} round-trips and is deterministic however the input is cut and however many run at once`, async () => {
      const a = await compress([data], c, 4);
      assert.deepEqual(decompress(a, c), data);
      // and by the command-line tool (zstd: one frame per piece, concatenated)
      assert.deepEqual(execFileSync(c.algorithm, ['-dc'], { input: a, maxBuffer: 64 << 20 }), data);
      assert.deepEqual(await compress(split(data, 4097), c, 1), a);
      assert.deepEqual(await compress(split(data, PIECE * 2 + 3), c, 2), a);
    });
  }

  it('round-trips empty input with both algorithms', async () => {
    for (const c of [DEFAULT_COMPRESSION, parseCompression('zstd')]) assert.equal(decompress(await compress([], c), c).length, 0);
  });

  it('stores incompressible pieces instead of deflating them, and still compresses text', async () => {
    const random = randomBytes(4 * PIECE);
    const blob = await compress([random], { algorithm: 'gzip', level: 9 });
    assert.ok(blob.length < random.length + 1024, `${blob.length} bytes for ${random.length} random bytes`);
    assert.deepEqual(gunzipSync(blob), random);
    const t = await compress([text], { algorithm: 'gzip', level: 6 });
    assert.ok(t.length < text.length / 10, `text compressed to ${t.length} of ${text.length}`);
  });

  it('frames stored pieces as raw-deflate stored blocks at every block boundary, read by zlib and gzip(1)', () => {
    for (const size of [0, 1, 65_534, 65_535, 65_536, 131_070, 131_071, PIECE]) {
      const data = randomBytes(size);
      const parts = storedPiece(data, true);
      const last = Buffer.concat(parts);
      assert.equal(last.length, size + Math.max(1, Math.ceil(size / 65_535)) * 5, `${size} bytes`);
      // the bytes are views of the input, not copies: only the headers are new
      assert.equal(parts.filter((p) => p.buffer !== data.buffer).reduce((n, p) => n + p.length, 0), Math.max(1, Math.ceil(size / 65_535)) * 5, `${size} bytes: new bytes`);
      assert.deepEqual(inflateRawSync(last), data, `${size} bytes as the last piece`);
      // a stored piece that is not last, then a deflated one that is, as one stream
      const tail = Buffer.from('the end\n');
      const both = Buffer.concat([...storedPiece(data, false), deflateRawSync(tail)]);
      assert.deepEqual(inflateRawSync(both), Buffer.concat([data, tail]), `${size} bytes then a deflated piece`);
      const member = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), both, Buffer.alloc(8)]);
      const whole = Buffer.concat([data, tail]);
      member.writeUInt32LE(crc32(whole) >>> 0, member.length - 8);
      member.writeUInt32LE(whole.length, member.length - 4);
      assert.deepEqual(execFileSync('gzip', ['-dc'], { input: member, maxBuffer: 64 << 20 }), whole);
    }
  });

  it('stores incompressible pieces without zlib: the blob is the bytes plus 5 per 64 KiB block', async () => {
    const random = randomBytes(3 * PIECE);
    const blob = await compress([random], { algorithm: 'gzip', level: 6 });
    const stored = 3 * (PIECE + Math.ceil(PIECE / 65_535) * 5);
    // header (10), three stored pieces, the empty last piece (a few bytes), trailer (8)
    assert.ok(blob.length >= 10 + stored + 8 && blob.length <= 10 + stored + 8 + 8, `${blob.length} bytes for ${random.length} random bytes`);
    assert.deepEqual(gunzipSync(blob), random);
  });

  it('frames incompressible zstd pieces as raw blocks at every block boundary, read by zlib and zstd(1)', async () => {
    for (const size of [1, 131_071, 131_072, 131_073, 3 * 131_072, PIECE]) {
      const data = randomBytes(size);
      const frameParts = rawZstdFrame([data.subarray(0, size >> 1), data.subarray(size >> 1)]);
      const frame = Buffer.concat(frameParts);
      assert.equal(frame.length, 9 + size + Math.ceil(size / 131_072) * 3, `${size} bytes`);
      assert.equal(frameParts.filter((p) => p.buffer !== data.buffer).reduce((n, p) => n + p.length, 0), 9 + Math.ceil(size / 131_072) * 3, `${size} bytes: new bytes`);
      assert.deepEqual(zstdDecompressSync(frame), data, `${size} bytes by zlib`);
      // next to a compressed frame, as pieces are concatenated
      const both = Buffer.concat([frame, zstdCompressSync(Buffer.from('the end\n'))]);
      assert.deepEqual(execFileSync('zstd', ['-dc'], { input: both, maxBuffer: 64 << 20 }), Buffer.concat([data, Buffer.from('the end\n')]), `${size} bytes by zstd(1)`);
    }
    const random = randomBytes(3 * PIECE);
    const blob = await compress([random], { algorithm: 'zstd', level: 19 });
    assert.equal(blob.length, 3 * (9 + PIECE + (PIECE / 131_072) * 3), 'three raw frames, whatever the level');
    assert.deepEqual(zstdDecompressSync(blob), random);
  });

  it('higher gzip levels do not grow compressible data', async () => {
    const sizes = await Promise.all([1, 6, 9].map(async (level) => (await compress([text], { algorithm: 'gzip', level })).length));
    assert.ok(sizes[1] <= sizes[0] && sizes[2] <= sizes[1], `sizes at 1, 6, 9: ${sizes.join(', ')}`);
  });

  for (const c of [DEFAULT_COMPRESSION, parseCompression('zstd')]) {
    it(`${c.algorithm}: ends a piece where the input says (PIECE_END), and a PieceCache gives back the same bytes without compressing again`, async () => {
      const file = (i: number) => Buffer.from(`# module ${i}\n${'def f(x):\n    return x * 42\n'.repeat(200 + i)}`);
      const groups = Array.from({ length: 5 }, (_, g) => Buffer.concat([file(g), file(g + 10)]));
      type Input = Buffer | typeof PIECE_END;
      const withEnds = (gs: Buffer[]): Input[] => gs.flatMap((b, i): Input[] => (i < gs.length - 1 ? [b, PIECE_END] : [b]));
      const whole = Buffer.concat(groups);
      // zstd: read by zstd(1) only; Node's decoder stops after the first frame unless its output buffer is full there (nodejs/node#64741)
      const read = (b: Buffer) => (c.algorithm === 'gzip' ? gunzipSync(b) : execFileSync('zstd', ['-dc'], { input: b }));
      const cut = await compress(withEnds(groups), c, 2);
      assert.ok(read(cut).equals(whole));
      assert.ok(execFileSync(c.algorithm, ['-dc'], { input: cut }).equals(whole), `${c.algorithm}(1) reads it`);
      assert.ok(!cut.equals(await compress([whole], c, 2)), 'pieces that end elsewhere are other bytes');
      // the same ends however the chunks come (an end next to another, or first, adds nothing)
      assert.ok((await compress([PIECE_END, ...withEnds(groups).flatMap((x): Input[] => (x === PIECE_END ? [x, PIECE_END] : split(x, 777)))], c, 1)).equals(cut));

      const cache = new PieceCache(1 << 20);
      assert.ok((await compress(withEnds(groups), c, 2, cache)).equals(cut));
      assert.deepEqual([cache.hits, cache.misses], [0, 5]);
      assert.ok((await compress(withEnds(groups), c, 2, cache)).equals(cut), 'from the cache: the same bytes');
      assert.deepEqual([cache.hits, cache.misses], [5, 5]);
      // one group edited: only its piece is compressed again, and the blob is what compressing all of it gives
      const edited = [...groups];
      edited[2] = Buffer.concat([groups[2], Buffer.from('# an edit\n')]);
      const again = await compress(withEnds(edited), c, 2, cache);
      assert.deepEqual([cache.hits, cache.misses], [9, 6]);
      assert.ok(again.equals(await compress(withEnds(edited), c, 2)));
      assert.ok(read(again).equals(Buffer.concat(edited)));
    });
  }

  it('PieceCache: a gzip piece that ends the stream is another key than one that does not; the least recently used goes past the bound', async () => {
    const piece = [Buffer.from('x'.repeat(1000))];
    const gzip = DEFAULT_COMPRESSION;
    assert.notEqual(PieceCache.key(gzip, true, piece), PieceCache.key(gzip, false, piece));
    assert.notEqual(PieceCache.key(gzip, false, piece), PieceCache.key(parseCompression('gzip:1'), false, piece));
    const zstd = parseCompression('zstd');
    assert.equal(PieceCache.key(zstd, true, piece), PieceCache.key(zstd, false, piece), 'a zstd frame is the same either way');
    assert.equal(PieceCache.key(gzip, false, [Buffer.from('ab'), Buffer.from('c')]), PieceCache.key(gzip, false, [Buffer.from('abc')]), 'the bytes, however split');
    const cache = new PieceCache(100);
    cache.set('a', Buffer.alloc(40));
    cache.set('b', Buffer.alloc(40));
    assert.ok(cache.get('a'), 'a is now the most recently used');
    cache.set('c', Buffer.alloc(40)); // 120 > 100: b goes
    assert.deepEqual([!!cache.get('a'), !!cache.get('b'), !!cache.get('c')], [true, false, true]);
    cache.set('huge', Buffer.alloc(101));
    assert.equal(cache.get('huge'), undefined, 'an output larger than the bound is not kept');
    assert.ok(cache.get('a') && cache.get('c'), 'and drops nothing');
  });

  it('parses images.compression and names the media type', () => {
    assert.deepEqual(parseCompression('gzip'), { algorithm: 'gzip', level: 6 });
    assert.deepEqual(parseCompression('gzip:1'), { algorithm: 'gzip', level: 1 });
    assert.deepEqual(parseCompression('zstd'), { algorithm: 'zstd', level: 3 });
    assert.deepEqual(parseCompression('zstd:19'), { algorithm: 'zstd', level: 19 });
    for (const bad of ['gzip:0', 'gzip:10', 'zstd:20', 'brotli', 'gzip:', 'GZIP']) assert.throws(() => parseCompression(bad), /images\.compression must be gzip/, bad);
    assert.equal(layerMediaType(parseCompression('gzip:9')), MEDIA_LAYER_GZIP);
    assert.equal(layerMediaType(parseCompression('zstd')), MEDIA_LAYER_ZSTD);
  });
});
