/**
 * The code layer: the workspace under /app/, the `trainyard` Python module under
 * /opt/trainyard/python/, and /opt/trainyard/bin/python, a relative symlink to the base's python3.
 *
 * Its bytes follow from its entries alone: files named by sha256 (a write fails unless it reads
 * those bytes), the helper module, the symlink's target, the compression. So a write can be
 * started before the build asks for it (snapshots/code-ahead.ts: while the base image is
 * scanned) and the build takes it: writeCodeLayer joins a write of the same entries that is
 * under way, or was done in the last minute and whose blob the store still has.
 *
 * Its compression pieces end after the entries whose path's sha256 begins with a 0 nibble (one
 * entry in 16, chosen by path alone), so each piece holds a group of ~16 files (about 32 KiB of
 * source: what deflate's 32 KiB window sees anyway). A re-save after an edit changes the bytes of
 * one group; the other groups' tar bytes (codeGroups) and compressed pieces (codePieces) are taken
 * from the last writes instead of reading, packing and compressing the whole workspace again.
 */
import { createHash } from 'node:crypto';
import type { Compression } from './compression';
import type { ImageStore } from './image-store';
import { writeLayer, type FileSource, type LayerEntry, type WriteLayerOptions, type WrittenLayer } from './layer';
import { entryKey } from './layer-groups';
import { readPythonHelper } from './python-helper';
import { compressionName, DEFAULT_COMPRESSION, PieceCache } from './compression';
import { ByteLru } from './byte-lru';
import { sha256Hex } from '@trainyard/shared/sha256';

export interface CodeFile {
  /** workspace-relative path, placed under /app/ */
  path: string;
  mode: number;
  /** where the bytes are on this machine */
  file: string;
  /** when given, the bytes are hashed as they are read and the build fails unless they match (files read in place) */
  sha256?: string;
  /** the stat key the file had when it was hashed to sha256 (layer.ts FileSource) */
  statKey?: string;
  /** its bytes, hashed to sha256 moments before (layer.ts FileSource) */
  data?: Buffer;
  /** the size the client named for a file taken unread (layer.ts FileSource) */
  size?: number;
}

/** the layer's entries; `python`: the base's interpreter, relative to / (usr/bin/python3) */
export async function codeLayerEntries(files: CodeFile[], python: string): Promise<LayerEntry[]> {
  const source = (f: CodeFile): FileSource =>
    f.sha256 ? { file: f.file, sha256: f.sha256, ...(f.statKey ? { statKey: f.statKey } : {}), ...(f.data ? { data: f.data } : {}), ...(f.size !== undefined ? { size: f.size } : {}) } : { file: f.file };
  const entries: LayerEntry[] = files.map((f) => ({ type: 'file', path: `app/${f.path}`, mode: f.mode, source: source(f) }));
  entries.push(
    { type: 'dir', path: 'app' },
    { type: 'file', path: 'opt/trainyard/python/trainyard/__init__.py', mode: 0o644, source: { data: await readPythonHelper() } },
    { type: 'symlink', path: 'opt/trainyard/bin/python', target: `../../../${python}` },
  );
  return entries;
}

/** what the layer's bytes follow from; null when a file is not named by its sha256 (its bytes are whatever is read) */
function contentKey(entries: LayerEntry[], compression: Compression): string | null {
  const h = createHash('sha256').update(compressionName(compression));
  for (const e of entries) {
    const what = entryKey(e);
    if (what === null) return null;
    h.update(`\0${e.path}\0${what}`);
  }
  return h.digest('hex');
}

/** a compression piece ends after this entry (see the header): a function of the path alone */
export const codePieceEnds = (path: string): boolean => sha256Hex(path).charCodeAt(0) === 48; // '0'

/** the code layers' groups of entries as tar bytes, and their compressed pieces, for the next write (they follow from the entries alone: shared by every store) */
const codeGroups = new ByteLru(64 << 20);
const codePieces = new PieceCache(16 << 20);

/** the layer of `entries`, in pieces by group, what was written before taken from codeGroups and codePieces (zstd: a frame per piece, which our readers take frame by frame: zstd-frames.ts) */
const writeCode = (store: ImageStore, entries: LayerEntry[], opts: Pick<WriteLayerOptions, 'tmpDir' | 'compression' | 'signal'>) =>
  writeLayer(store, entries, { ...opts, cutAfter: codePieceEnds, groupCache: codeGroups, pieceCache: codePieces });

/** how long a finished write is taken by a build that asks for the same entries */
const KEEP_MS = 60_000;
const writes = new WeakMap<ImageStore, Map<string, Promise<WrittenLayer>>>();

/**
 * The code layer of `entries` in `store`: the one being written (or written in the last minute)
 * for the same entries, else written now. A joined write that fails (or was stopped by its
 * signal) is not this call's failure: it writes the layer itself.
 */
export async function writeCodeLayer(store: ImageStore, entries: LayerEntry[], opts: Pick<WriteLayerOptions, 'tmpDir' | 'compression' | 'signal'> = {}): Promise<WrittenLayer> {
  const key = contentKey(entries, opts.compression ?? DEFAULT_COMPRESSION);
  if (!key) return writeCode(store, entries, opts);
  let byKey = writes.get(store);
  if (!byKey) writes.set(store, (byKey = new Map()));
  const other = byKey.get(key);
  if (other) {
    const got = await other.catch(() => null);
    if (got && (await store.hasBlob(got.digest))) return got;
  }
  const mine = writeCode(store, entries, opts);
  byKey.set(key, mine);
  const forget = () => {
    if (byKey.get(key) === mine) byKey.delete(key);
  };
  mine.then(() => setTimeout(forget, KEEP_MS).unref(), forget);
  return mine;
}
