/**
 * Which files of a run's output directory become its artifacts.
 *
 * A walk in path order (so the same directory always gives the same list):
 * regular files are kept; a symlink is followed only when its target stays
 * inside the directory (and is then kept as the file it points to); anything
 * else (a symlink leaving the directory, a socket, a FIFO, a name an artifact
 * cannot have) is dropped with its reason. Files past the configured count or
 * total size are dropped too: the run keeps what fits and says what was not.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isArtifactPath } from '@trainyard/shared';

export interface ArtifactLimits {
  maxFiles: number;
  maxBytes: number;
}

export interface ScannedFile {
  /** "/"-separated, relative to the output directory */
  path: string;
  /** absolute path to read (the target, for a symlink kept) */
  abs: string;
  size: number;
}

export interface Scan {
  files: ScannedFile[];
  /** one line per dropped file or group, for the run's artifact note */
  dropped: string[];
}

const MAX_DEPTH = 64;

export async function scanOutputDir(dir: string, limits: ArtifactLimits): Promise<Scan> {
  const files: ScannedFile[] = [];
  const dropped: string[] = [];
  let root: string;
  try {
    root = await realpath(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files, dropped };
    throw err;
  }
  const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const childAbs = join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      if (!isArtifactPath(childRel)) {
        dropped.push(`${JSON.stringify(childRel)}: not a name an artifact can have (control characters, "\\", or a segment over 255 bytes)`);
        continue;
      }
      const st = await lstat(childAbs);
      let target = childAbs;
      let tst = st;
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = await realpath(childAbs);
        } catch {
          dropped.push(`${childRel}: a symlink to nothing`);
          continue;
        }
        if (real !== root && !real.startsWith(root + sep)) {
          dropped.push(`${childRel}: a symlink leading out of the output directory (to ${real})`);
          continue;
        }
        target = real;
        tst = await stat(real);
        if (tst.isDirectory()) {
          dropped.push(`${childRel}: a symlink to a directory (${relative(root, real) || '.'}) is not followed`);
          continue;
        }
      }
      if (tst.isDirectory()) {
        if (depth >= MAX_DEPTH) {
          dropped.push(`${childRel}/: nested deeper than ${MAX_DEPTH} directories`);
          continue;
        }
        await walk(childAbs, childRel, depth + 1);
        continue;
      }
      if (!tst.isFile()) {
        dropped.push(`${childRel}: not a regular file`);
        continue;
      }
      files.push({ path: childRel, abs: target, size: tst.size });
    }
  };
  await walk(root, '', 0);
  const fit = withinLimits(files, limits);
  return { files: fit.kept, dropped: [...dropped, ...fit.dropped] };
}

/**
 * The files that fit the limits, in order (a file that would pass the byte limit is skipped, and a
 * smaller one after it may still fit), and what was dropped. Also applied to what a pod reports.
 */
export function withinLimits<T extends { size: number }>(files: T[], limits: ArtifactLimits): { kept: T[]; dropped: string[] } {
  const kept: T[] = [];
  let total = 0;
  let overCount = 0;
  let overSize = 0;
  for (const f of files) {
    if (kept.length >= limits.maxFiles) overCount++;
    else if (total + f.size > limits.maxBytes) overSize++;
    else {
      kept.push(f);
      total += f.size;
    }
  }
  const dropped: string[] = [];
  if (overCount) dropped.push(`${overCount} file(s) past the limit of ${limits.maxFiles} files per run (artifacts.maxFiles)`);
  if (overSize) dropped.push(`${overSize} file(s) that would pass the limit of ${limits.maxBytes} bytes per run (artifacts.maxBytes)`);
  return { kept, dropped };
}
