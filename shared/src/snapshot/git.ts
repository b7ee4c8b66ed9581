/**
 * Git state of a workspace through the `git` CLI: HEAD's sha, whether the
 * workspace folder has uncommitted changes (tracked or untracked, scoped to the
 * folder), and the branch. No git, not a repo or no commit yet ⇒ sha null.
 * Node-only (child_process).
 *
 * One `git status --porcelain=v2 --branch` answers all three (its `# branch.oid` and
 * `# branch.head` headers, then one line per change): one process where four queries in a row
 * took 30-48 ms of a save in a repo. Should it fail inside a work tree (a damaged index), the
 * sha is read alone and the folder counts as dirty.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { GitState } from '../schemas/models';

function git(dir: string, args: string[]): Promise<{ out: string; err: string; ok: boolean }> {
  return new Promise((resolve) => {
    execFile('git', ['-C', dir, ...args], { timeout: 15000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } }, (err, stdout, stderr) => {
      resolve({ out: String(stdout ?? ''), err: String(stderr ?? ''), ok: !err });
    });
  });
}

const NONE: GitState = { sha: null, dirty: false, branch: null };
const validSha = (s: string | undefined) => (s && /^[0-9a-f]{7,64}$/.test(s) ? s : null);

/** the state `git status --porcelain=v2 --branch` describes */
export function parseStatusV2(out: string): GitState {
  let sha: string | null = null;
  let branch: string | null = null;
  let dirty = false;
  for (const line of out.split('\n')) {
    if (line.startsWith('# branch.oid ')) sha = validSha(line.slice(13).trim());
    else if (line.startsWith('# branch.head ')) {
      const head = line.slice(14).trim();
      branch = head && head !== '(detached)' ? head : null;
    } else if (line.length && !line.startsWith('# ')) dirty = true;
  }
  return { sha, dirty, branch };
}

/**
 * Whether git could find a repository for `dir`: a `.git` in it or a folder above, or GIT_DIR set.
 * When not, git is not started (~15 ms of a save's CPU here, and a process): its answer is known.
 */
export function mayBeInRepo(dir: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.GIT_DIR) return true;
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

export async function gitState(dir: string): Promise<GitState> {
  if (!mayBeInRepo(dir)) return NONE;
  const status = await git(dir, ['status', '--porcelain=v2', '--branch', '--untracked-files=normal', '--', '.']);
  if (status.ok) return parseStatusV2(status.out);
  // not a repo (or no git): the common failure, said on stderr; anything else is looked at closer
  if (/not a git repository|must be run in a work tree|ENOENT/i.test(status.err) || !status.err) return NONE;
  const inside = await git(dir, ['rev-parse', '--is-inside-work-tree']);
  if (!inside.ok || inside.out.trim() !== 'true') return NONE;
  const head = await git(dir, ['rev-parse', '--verify', '-q', 'HEAD']);
  const branch = await git(dir, ['symbolic-ref', '-q', '--short', 'HEAD']);
  return { sha: head.ok ? validSha(head.out.trim()) : null, dirty: true, branch: (branch.ok && branch.out.trim()) || null };
}
