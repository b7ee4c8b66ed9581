/**
 * Node's zstd decoder stops at the end of the first frame a write holds and drops the rest of
 * that write (nodejs/node#64741, open on Node 24): a layer of many small frames (zstd:chunked
 * has one per file; our code layer would, zstd pieces by group) lists only its first frame's
 * files. Frames that each arrive in writes of their own are all decoded. ZstdFrameCutter cuts
 * the compressed bytes at every frame's end (RFC 8878 §3.1: frames and skippable frames, read
 * from their headers and block headers, nothing decoded), so no write holds the end of one
 * frame and the start of the next. Bytes that are not a frame (garbage, legacy formats) are
 * passed on uncut, for the decoder to refuse.
 */
import { Transform } from 'node:stream';

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50; // to 0x184d2a5f
const DICT_ID_BYTES = [0, 1, 2, 4];

type State = 'magic' | 'descriptor' | 'block' | 'skippable' | 'end' | 'uncut';

export class ZstdFrameCutter {
  private state: State = 'magic';
  /** header bytes gathered for the state, and how many it needs */
  private readonly head = Buffer.alloc(4);
  private have = 0;
  private need = 4;
  /** bytes to pass before the state's header (the rest of a frame header, a block's content, a checksum) */
  private skip = 0;
  private checksum = false;

  /** the chunk as views, cut after each frame that ends in it */
  cut(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    let i = 0;
    const expect = (state: State, need: number) => {
      this.state = state;
      this.need = need;
      this.have = 0;
    };
    while (i < chunk.length && this.state !== 'uncut') {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        i += n;
        this.skip -= n;
        if (this.skip > 0) break;
      }
      if (this.state === 'end') {
        if (i > start) out.push(chunk.subarray(start, i));
        start = i;
        expect('magic', 4);
        continue;
      }
      const n = Math.min(this.need - this.have, chunk.length - i);
      chunk.copy(this.head, this.have, i, i + n);
      this.have += n;
      i += n;
      if (this.have < this.need) break;
      if (this.state === 'magic') {
        const magic = this.head.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) expect('descriptor', 1);
        else if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) expect('skippable', 4);
        else this.state = 'uncut';
      } else if (this.state === 'descriptor') {
        const d = this.head[0];
        const single = (d >> 5) & 1;
        const fcs = [single ? 1 : 0, 2, 4, 8][d >> 6];
        this.checksum = ((d >> 2) & 1) === 1;
        this.skip = (single ? 0 : 1) + DICT_ID_BYTES[d & 3] + fcs; // window descriptor, dictionary id, content size
        expect('block', 3);
      } else if (this.state === 'block') {
        const h = this.head.readUIntLE(0, 3);
        const type = (h >> 1) & 3;
        if (type === 3) {
          this.state = 'uncut'; // reserved: not a frame the decoder will read either
          continue;
        }
        const last = (h & 1) === 1;
        this.skip = (type === 1 ? 1 : h >>> 3) + (last && this.checksum ? 4 : 0); // RLE: one byte
        expect(last ? 'end' : 'block', 3);
      } else if (this.state === 'skippable') {
        this.skip = this.head.readUInt32LE(0);
        expect('end', 0);
      }
    }
    if (start < chunk.length) out.push(chunk.subarray(start));
    return out;
  }
}

/** passes a zstd stream on with a write of its own for each frame's end (see the header) */
export function zstdFrameWrites(): Transform {
  const cutter = new ZstdFrameCutter();
  return new Transform({
    readableObjectMode: true, // each piece stays a write of its own downstream
    transform(chunk: Buffer, _enc, cb) {
      for (const piece of cutter.cut(chunk)) this.push(piece);
      cb();
    },
  });
}
