/**
 * Saving an artifact file from a browser page without a token in any URL: the bytes come from
 * a fetch that carries the credentials in a header (the dashboard's Bearer token, JupyterLab's
 * same-origin session), then
 *   - small and medium files become a Blob, checked against the listing's size and sha256
 *     (crypto.subtle), and are handed to the browser's downloads through an object URL and
 *     <a download>; the object URL is local to the page, no server ever sees it;
 *   - files of `streamAboveBytes` or more go straight to disk through the File System Access
 *     API (showSaveFilePicker, Chromium) when the browser has it, so a multi-GiB model never
 *     sits in the page's memory. That path checks the size only: crypto.subtle has no
 *     incremental sha256, and the server's ETag is the sha256 the listing shows.
 *   Browsers without the API (Firefox, Safari) use the Blob path for every size; Chromium
 *   keeps large Blobs on disk, others hold them in memory.
 */
import type { ArtifactFile } from '../schemas/artifacts';
import type { ArtifactSaver } from './context';

/** one artifact's bytes as a streaming Response (TrainyardClient.downloadArtifact, or a host's own) */
export type FetchArtifact = (runId: string, path: string, signal?: AbortSignal) => Promise<Response>;

export interface BrowserSaverOptions {
  /** from this size on, stream to a file the user picks when the browser can; default 256 MiB */
  streamAboveBytes?: number;
}

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** Reads a response body, counting bytes; yields each chunk. */
async function* chunks(res: Response, onProgress?: (n: number) => void): AsyncGenerator<Uint8Array> {
  if (!res.body) throw new Error('the answer has no body');
  const reader = res.body.getReader();
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      n += value.length;
      onProgress?.(n);
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** The whole file as a Blob, refused unless its size and (where the page can hash) sha256 match the listing. */
export async function fetchVerifiedBlob(res: Response, file: ArtifactFile, onProgress?: (n: number) => void): Promise<{ blob: Blob; hashed: boolean }> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for await (const c of chunks(res, onProgress)) { parts.push(c as Uint8Array<ArrayBuffer>); size += c.length; }
  if (size !== file.size) throw new Error(`${file.path}: got ${size} bytes, but the run kept ${file.size}; try again`);
  const blob = new Blob(parts, { type: 'application/octet-stream' });
  const subtle = globalThis.crypto?.subtle; // absent outside secure contexts (plain http to another host)
  if (subtle) {
    const got = hex(await subtle.digest('SHA-256', await blob.arrayBuffer()));
    if (got !== file.sha256) throw new Error(`${file.path}: the download's sha256 is ${got}, but the run kept ${file.sha256}; try again`);
  }
  return { blob, hashed: !!subtle };
}

/** Hands a Blob to the browser's downloads under `name` (an object URL, revoked once the click is handled). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

interface SaveFilePicker {
  (opts: { suggestedName: string }): Promise<{ name: string; createWritable(): Promise<WritableStream<Uint8Array> & { abort(): Promise<void> }> }>;
}

/** Streams a file to disk through the File System Access API; the picker opens first (it needs the click's user activation). */
async function streamToPickedFile(pick: SaveFilePicker, fetchFile: () => Promise<Response>, file: ArtifactFile, onProgress?: (n: number) => void): Promise<string> {
  const handle = await pick({ suggestedName: baseName(file.path) });
  const res = await fetchFile();
  const out = await handle.createWritable();
  const w = out.getWriter();
  let size = 0;
  try {
    for await (const c of chunks(res, onProgress)) { await w.write(c); size += c.length; }
    if (size !== file.size) throw new Error(`${file.path}: got ${size} bytes, but the run kept ${file.size}; try again`);
    await w.close();
  } catch (err) {
    await w.abort().catch(() => undefined); // the picked file is left as it was
    throw err;
  }
  return `saved ${handle.name}`;
}

/** The browser's "Download" button: Blob + <a download>, or streaming to a picked file for large files. */
export function browserDownloadSaver(fetchArtifact: FetchArtifact, opts: BrowserSaverOptions = {}): ArtifactSaver {
  const streamAbove = opts.streamAboveBytes ?? 256 * 1024 * 1024;
  return {
    label: 'Download',
    async save(run, file, { onProgress, signal }) {
      const pick = (globalThis as { showSaveFilePicker?: SaveFilePicker }).showSaveFilePicker;
      if (pick && file.size >= streamAbove) return streamToPickedFile(pick, () => fetchArtifact(run.id, file.path, signal), file, onProgress);
      const { blob, hashed } = await fetchVerifiedBlob(await fetchArtifact(run.id, file.path, signal), file, onProgress);
      saveBlob(blob, baseName(file.path));
      return `downloaded ${baseName(file.path)}${hashed ? ', sha256 verified' : ' (size checked; this page cannot hash)'}`;
    },
  };
}
