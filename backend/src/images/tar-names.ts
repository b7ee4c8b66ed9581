/**
 * The names and types of a tar's entries, read from its headers alone: each entry's body is
 * skipped by its size, never copied or handed out as a stream (what listing a base image layer
 * needs; unpacking reads entries with tar-stream: layer-read.ts readLayer).
 *
 * Reads ustar and GNU headers (name with the ustar prefix), pax extended headers (`path`,
 * `size`), GNU long names (`L`) and sizes in base-256. A header whose checksum does not add up,
 * or a stream that ends inside an entry, is an error: a listing is never silently short. The
 * source is read to its end, past the end-of-archive blocks, so a source that verifies a digest
 * as it is read gets to.
 */
export interface TarName {
  /** the header's path as written (callers normalize it) */
  name: string;
  /** tar-stream's type names: file, link, symlink, directory, … */
  type: string;
}

const TYPES: Record<string, string> = {
  '0': 'file', '\0': 'file', '7': 'contiguous-file', '1': 'link', '2': 'symlink', '3': 'character-device', '4': 'block-device', '5': 'directory', '6': 'fifo',
};
const BLOCK = 512;
/** the largest pax or GNU long-name header body read (they are held whole) */
const MAX_META = 1 << 20;

const text = (b: Buffer, at: number, len: number) => {
  const end = b.indexOf(0, at);
  return b.toString('utf8', at, end < 0 || end > at + len ? at + len : end);
};

function size(h: Buffer): number {
  if (h[124] & 0x80) {
    // base-256 (GNU): big-endian, the top bit of the first byte marks it
    let n = h[124] & 0x7f;
    for (let i = 125; i < 136; i++) n = n * 256 + h[i];
    return n;
  }
  const s = text(h, 124, 12).trim();
  return s ? parseInt(s, 8) : 0;
}

function checksumOk(h: Buffer): boolean {
  const want = parseInt(text(h, 148, 8).trim(), 8);
  let sum = 8 * 32; // the checksum field counts as spaces
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += h[i];
  return sum === want;
}

/** the `key=value` records of a pax extended header body */
function paxRecords(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < body.length) {
    const sp = body.indexOf(0x20, at);
    if (sp < 0) break;
    const len = parseInt(body.toString('ascii', at, sp), 10);
    if (!(len > 0)) break;
    const rec = body.toString('utf8', sp + 1, at + len - 1); // without the trailing newline
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    at += len;
  }
  return out;
}

export async function tarNames(src: AsyncIterable<Buffer>): Promise<TarName[]> {
  const out: TarName[] = [];
  let buf: Buffer = Buffer.alloc(0);
  let skip = 0; // body bytes (with padding) still to pass
  let pending: { want: number; kind: 'pax' | 'longname' } | null = null;
  let next: { name?: string; size?: number } = {};
  let ended = false;
  for await (const chunk of src) {
    if (ended) continue; // read to the end all the same: a verifying source checks its digest there
    let data = chunk;
    if (skip > 0) {
      const n = Math.min(skip, data.length);
      skip -= n;
      data = data.subarray(n);
      if (data.length === 0) continue;
    }
    buf = buf.length ? Buffer.concat([buf, data]) : data;
    let at = 0;
    while (!ended) {
      if (pending) {
        const padded = Math.ceil(pending.want / BLOCK) * BLOCK;
        if (buf.length - at < padded) break;
        const body = buf.subarray(at, at + pending.want);
        if (pending.kind === 'pax') {
          const r = paxRecords(body);
          if (r.has('path')) next.name = r.get('path');
          if (r.has('size')) next.size = Number(r.get('size'));
        } else next.name = text(body, 0, body.length);
        at += padded;
        pending = null;
        continue;
      }
      if (buf.length - at < BLOCK) break;
      const h = buf.subarray(at, at + BLOCK);
      at += BLOCK;
      if (h.every((x) => x === 0)) { ended = true; break; } // the end-of-archive blocks
      if (!checksumOk(h)) throw new Error(`not a tar: a header's checksum does not add up (after ${out.length} entries)`);
      const flag = String.fromCharCode(h[156]);
      const bodySize = size(h);
      if (flag === 'x' || flag === 'L') {
        // held whole until read: a name or a pax header is small, a huge one is not a real archive
        if (bodySize > MAX_META) throw new Error(`not a tar we read: a ${flag === 'x' ? 'pax' : 'long name'} header of ${bodySize} bytes (after ${out.length} entries)`);
        pending = { want: bodySize, kind: flag === 'x' ? 'pax' : 'longname' };
        continue;
      }
      if (flag === 'g' || flag === 'K') { skip = Math.ceil(bodySize / BLOCK) * BLOCK; } // global pax and long link names: not needed
      else {
        const magic = h.toString('ascii', 257, 262);
        const prefix = magic === 'ustar' && h[345] ? text(h, 345, 155) : '';
        const name = next.name ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
        out.push({ name, type: TYPES[flag] ?? 'file' });
        const dataSize = next.size ?? bodySize;
        next = {};
        skip = flag === '5' || flag === '1' || flag === '2' ? 0 : Math.ceil(dataSize / BLOCK) * BLOCK;
      }
      // pass what of the body is here; the rest is skipped as it arrives
      const n = Math.min(skip, buf.length - at);
      at += n;
      skip -= n;
    }
    buf = at >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
  }
  if (!ended && (skip > 0 || pending || buf.length > 0)) throw new Error(`the tar ends inside an entry (after ${out.length} entries)`);
  return out;
}
