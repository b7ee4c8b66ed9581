/**
 * unpackImage: extracts an image's layers, in order, into a directory (the
 * local executor runs a version from there with the host Python).
 *
 * Safety: entry names that are absolute or contain ".." are refused; nothing is
 * ever written through a symlink (every parent is lstat'ed, an existing final
 * component is removed first); relative symlink targets and hard links must stay
 * inside dest. Absolute symlink targets are kept as they are (inside a container
 * they point into the image; unpacking never follows them).
 * Whiteouts, minimally: `.wh.<name>` removes <name>, `.wh..wh..opq` empties its
 * directory. Devices and FIFOs are skipped; ownership is not restored.
 */
import { createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ImageStore } from './image-store';
import type { ImageManifest } from './base-image';
import { readLayer } from './layer-read';

export class UnsafeLayerError extends Error {}

/** "a/b" for "./a/b/" or "a/b"; refuses absolute names and ".." segments */
export function safeEntryName(name: string): string {
  if (name.startsWith('/')) throw new UnsafeLayerError(`refusing layer entry with an absolute path: ${JSON.stringify(name)}`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new UnsafeLayerError(`refusing layer entry with "..": ${JSON.stringify(name)}`);
  return parts.join('/');
}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return !isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`);
}

async function lstatOrNull(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** makes every parent of rel a real directory under root; refuses symlinked parents */
async function ensureParents(root: string, rel: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  let cur = root;
  for (const p of parts) {
    cur = join(cur, p);
    const st = await lstatOrNull(cur);
    if (!st) await mkdir(cur, { mode: 0o755 });
    else if (st.isSymbolicLink()) throw new UnsafeLayerError(`refusing to write ${JSON.stringify(rel)} through the symlink ${JSON.stringify(relative(root, cur))}`);
    else if (!st.isDirectory()) await rm(cur, { force: true }).then(() => mkdir(cur, { mode: 0o755 }));
  }
}

async function emptyDir(dir: string): Promise<void> {
  const st = await lstatOrNull(dir);
  if (!st?.isDirectory()) return;
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}

export async function unpackImage(store: ImageStore, repo: string, ref: string, dest: string): Promise<void> {
  const stored = await store.getManifest(repo, ref);
  if (!stored) throw new Error(`no image ${repo}:${ref} in ${store.location}`);
  const manifest = JSON.parse(stored.bytes.toString('utf8')) as ImageManifest;
  if (!Array.isArray(manifest.layers)) throw new Error(`${repo}:${ref} (${stored.digest}) is not an image manifest`);
  const root = resolve(dest);
  await mkdir(root, { recursive: true });
  for (const layer of manifest.layers) {
    for await (const entry of readLayer(store, layer)) {
      const h = entry.header;
      const rel = safeEntryName(h.name);
      if (rel === '') {
        entry.resume();
        continue;
      }
      await ensureParents(root, rel);
      const full = join(root, rel);
      const base = rel.split('/').pop()!;
      if (base.startsWith('.wh.')) {
        entry.resume();
        if (base === '.wh..wh..opq') await emptyDir(dirname(full));
        else await rm(join(dirname(full), base.slice(4)), { recursive: true, force: true });
        continue;
      }
      const existing = await lstatOrNull(full);
      if (h.type === 'directory') {
        entry.resume();
        if (existing && !existing.isDirectory()) await rm(full, { force: true });
        if (!existing?.isDirectory()) await mkdir(full, { mode: 0o755 });
        await chmod(full, ((h.mode ?? 0o755) & 0o7777) | 0o700); // owner rwx: later entries go inside
        continue;
      }
      if (existing) await rm(full, { recursive: true, force: true });
      if (h.type === 'file' || h.type === 'contiguous-file') {
        await pipeline(entry, createWriteStream(full, { flags: 'wx', mode: 0o600 }));
        await chmod(full, (h.mode ?? 0o644) & 0o7777);
      } else if (h.type === 'symlink') {
        entry.resume();
        const target = h.linkname ?? '';
        if (!target.startsWith('/') && !inside(root, resolve(dirname(full), target))) {
          throw new UnsafeLayerError(`refusing symlink ${JSON.stringify(rel)} -> ${JSON.stringify(target)}: it points outside the image`);
        }
        await symlink(target, full);
      } else if (h.type === 'link') {
        entry.resume();
        const target = safeEntryName(h.linkname ?? '');
        await ensureParents(root, target);
        const st = await lstatOrNull(join(root, target));
        if (!st || st.isSymbolicLink() || st.isDirectory()) throw new UnsafeLayerError(`refusing hard link ${JSON.stringify(rel)} -> ${JSON.stringify(h.linkname)}: not a regular file in the image`);
        await link(join(root, target), full);
      } else {
        entry.resume(); // devices, FIFOs: not needed to run code from the host
      }
    }
  }
}
