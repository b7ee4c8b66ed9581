/**
 * zstd-frames.ts: every frame's end ends a piece, for every kind of frame and however the bytes
 * arrive; the layer readers (readLayer, listLayerEntries on its thread) read a zstd layer of many
 * small frames whole (Node's decoder alone stopped after the first frame: nodejs/node#64741).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { constants as zc, createZstdDecompress, zstdCompressSync } from 'node:zlib';
import tar from 'tar-stream';
import { compressStream, MEDIA_LAYER_ZSTD, PIECE_END, parseCompression, rawZstdFrame } from '../../src/images/compression';
import { listLayerEntries, readLayer } from '../../src/images/layer-read';
import { OciLayoutStore } from '../../src/images/oci-layout';
import { ZstdFrameCutter } from '../../src/images/zstd-frames';
import { tempDir } from './helpers';

async function decodeWrites(pieces: Buffer[]): Promise<Buffer> {
  const d = createZstdDecompress();
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise<void>((resolve, reject) => d.on('end', resolve).on('error', reject));
  for (const p of pieces) d.write(p);
  d.end();
  await ended;
  return Buffer.concat(out);
}

describe('images/zstd frames', () => {
  it('cuts after every frame (checksummed, skippable, empty, raw blocks, RLE, without a content size) however the bytes arrive, and Node decodes them all', async () => {
    const parts = [Buffer.from('hello '.repeat(2000)), randomBytes(5000), Buffer.alloc(0), randomBytes(140_000), Buffer.alloc(50_000, 7), Buffer.from('end\n')];
    const skippable = Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);
    const frames = [
      zstdCompressSync(parts[0]),
      zstdCompressSync(parts[1], { params: { [zc.ZSTD_c_checksumFlag]: 1 } }),
      skippable,
      zstdCompressSync(parts[2]),
      Buffer.concat(rawZstdFrame(parts[3])), // two raw blocks
      zstdCompressSync(parts[4]), // repeated bytes: RLE blocks
      zstdCompressSync(parts[5], { params: { [zc.ZSTD_c_contentSizeFlag]: 0 } }),
    ];
    const all = Buffer.concat(frames);
    const frameEnds = frames.map(((end) => (f: Buffer) => (end += f.length))(0));
    for (const size of [1, 2, 3, 5, 7, 4096, all.length]) {
      const cutter = new ZstdFrameCutter();
      const pieces: Buffer[] = [];
      for (let i = 0; i < all.length; i += size) pieces.push(...cutter.cut(all.subarray(i, i + size)));
      assert.ok(Buffer.concat(pieces).equals(all), `${size}: the same bytes`);
      const pieceEnds = new Set(pieces.map(((end) => (p: Buffer) => (end += p.length))(0)));
      assert.deepEqual(frameEnds.filter((e) => !pieceEnds.has(e)), [], `${size}: a frame end inside a piece`);
      if (size >= 7) assert.ok((await decodeWrites(pieces)).equals(Buffer.concat(parts)), `${size}: decoded whole`);
    }
  });

  it('passes bytes that are not zstd frames on uncut', () => {
    const cutter = new ZstdFrameCutter();
    const junk = Buffer.from('not a zstd frame at all, and more bytes after it');
    assert.deepEqual(cutter.cut(junk.subarray(0, 10)).concat(cutter.cut(junk.subarray(10))).map((b) => b.toString()), [junk.subarray(0, 10).toString(), junk.subarray(10).toString()]);
  });

  it('readLayer and listLayerEntries read a zstd layer of many small frames whole', async () => {
    const t = tempDir('zstd-frames');
    try {
      // a tar of 12 files, one zstd frame per file (as zstd:chunked makes them): each entry is a
      // 512-byte header and one 512-byte block of content
      const pack = tar.pack();
      const names = Array.from({ length: 12 }, (_, i) => `app/f${i}.py`);
      const tarParts: Buffer[] = [];
      pack.on('data', (c) => tarParts.push(c as Buffer));
      const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
      for (const [i, name] of names.entries()) pack.entry({ name, mtime: new Date(0) }, `print(${String(i).padStart(2)})\n`.repeat(40));
      pack.finalize();
      await ended;
      const tarBytes = Buffer.concat(tarParts);
      assert.equal(tarBytes.length, 12 * 1024 + 1024);
      const chunks: Array<Buffer | typeof PIECE_END> = names.flatMap((_, i) => [tarBytes.subarray(i * 1024, (i + 1) * 1024), PIECE_END]);
      chunks.push(tarBytes.subarray(12 * 1024));
      const blob: Buffer[] = [];
      for await (const out of compressStream((async function* () { yield* chunks; })(), parseCompression('zstd'))) blob.push(...out);
      const bytes = Buffer.concat(blob);
      assert.equal(new ZstdFrameCutter().cut(bytes).length, 13, 'a frame per file, and the end of the archive');
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const store = new OciLayoutStore(join(t.dir, 'store'));
      await store.putBlob(digest, bytes);
      const layer = { digest, mediaType: MEDIA_LAYER_ZSTD };

      const read: string[] = [];
      for await (const e of readLayer(store, layer)) {
        read.push(e.header.name);
        e.resume();
      }
      assert.deepEqual(read, names);
      assert.deepEqual((await listLayerEntries(store, layer)).map((e) => e.name), names);
    } finally {
      t.cleanup();
    }
  });
});
