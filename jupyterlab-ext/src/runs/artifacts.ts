/**
 * How Run Results keeps an artifact file in JupyterLab:
 * - "Save to folder": into the Jupyter contents, next to the model's notebook (the folder it was
 *   saved from; else the file browser's folder), as `trainyard-artifacts/<run>/<path>`. The bytes
 *   come through the same-origin proxy (/trainyard/api/..., Jupyter's session, no token in a
 *   URL), are checked against the listing (size, sha256), then uploaded through the contents API
 *   in 1 MiB base64 chunks (Jupyter's chunked save, as its own upload button does), so the
 *   server never holds a whole large file in one request.
 * - "Download": the browser's downloads (shared browser-download.ts).
 */
import { PathExt } from '@jupyterlab/coreutils';
import type { Contents } from '@jupyterlab/services';
import type { ArtifactFile } from '../../../shared/src/schemas/artifacts';
import type { Run } from '../../../shared/src/schemas/runs';
import type { ArtifactSaver } from '../../../shared/src/ui/context';
import { browserDownloadSaver, fetchVerifiedBlob } from '../../../shared/src/ui/browser-download';
import type { JupyterClient } from '../api';

const CHUNK = 1024 * 1024;

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Creates each missing folder of `dir` (a contents path). */
async function ensureDir(contents: Contents.IManager, dir: string): Promise<void> {
  let at = '';
  for (const part of dir.split('/').filter(Boolean)) {
    at = at ? `${at}/${part}` : part;
    try {
      const m = await contents.get(at, { content: false });
      if (m.type !== 'directory') throw new Error(`${at} exists and is not a folder`);
    } catch (err) {
      if ((err as { response?: { status?: number } }).response?.status !== 404) throw err;
      await contents.save(at, { type: 'directory' });
    }
  }
}

/** Writes a Blob into the contents at `path`, in chunks (chunk 1..n, the last numbered -1). */
async function uploadBlob(contents: Contents.IManager, path: string, blob: Blob, onProgress?: (n: number) => void): Promise<void> {
  if (blob.size <= CHUNK) {
    await contents.save(path, { type: 'file', format: 'base64', content: base64(new Uint8Array(await blob.arrayBuffer())) });
    onProgress?.(blob.size);
    return;
  }
  for (let start = 0, n = 1; start < blob.size; start += CHUNK, n++) {
    const end = Math.min(blob.size, start + CHUNK);
    const content = base64(new Uint8Array(await blob.slice(start, end).arrayBuffer()));
    await contents.save(path, { type: 'file', format: 'base64', content, chunk: end === blob.size ? -1 : n });
    onProgress?.(end);
  }
}

export interface ContentsSaverOptions {
  client: JupyterClient;
  contents: Contents.IManager;
  /** the contents folder for a model's artifacts ('' is the server root) */
  folderFor(run: Run): string;
}

export function contentsSaver(opts: ContentsSaverOptions): ArtifactSaver {
  return {
    label: 'Save to folder',
    async save(run: Run, file: ArtifactFile, { onProgress, signal }) {
      const res = await opts.client.downloadArtifact(run.id, file.path, signal);
      // the download is the first half of the bar, the upload the second
      const { blob } = await fetchVerifiedBlob(res, file, (n) => onProgress?.(Math.floor(n / 2)));
      const path = PathExt.join(opts.folderFor(run), 'trainyard-artifacts', run.id, ...file.path.split('/'));
      await ensureDir(opts.contents, PathExt.dirname(path));
      await uploadBlob(opts.contents, path, blob, (n) => onProgress?.(Math.floor(file.size / 2 + n / 2)));
      return `saved to ${path}`;
    },
  };
}

export function artifactSavers(opts: ContentsSaverOptions): ArtifactSaver[] {
  return [contentsSaver(opts), browserDownloadSaver((id, path, signal) => opts.client.downloadArtifact(id, path, signal))];
}
