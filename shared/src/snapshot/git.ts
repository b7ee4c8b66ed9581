/**
 * Git state of a workspace through the `git` CLI: HEAD's sha, whether the
 * workspace folder has uncommitted changes (tracked or untracked, scoped to the
 * folder), and the branch. No git, not a repo or no commit yet ⇒ sha null.
 * Node-only (child_process).
 */
import { execFile } from 'node:child_process';
import type { GitState } from '../schemas/models';

function git(dir: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['-C', dir, ...args], { timeout: 15000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } }, (err, stdout) => {
      resolve(err ? null : stdout);
    });
  });
}

export async function gitState(dir: string): Promise<GitState> {
  const inside = await git(dir, ['rev-parse', '--is-inside-work-tree']);
  if (inside?.trim() !== 'true') return { sha: null, dirty: false, branch: null };
  const sha = (await git(dir, ['rev-parse', '--verify', '-q', 'HEAD']))?.trim() || null;
  const status = await git(dir, ['status', '--porcelain', '--untracked-files=normal', '--', '.']);
  const branchOut = (await git(dir, ['symbolic-ref', '-q', '--short', 'HEAD']))?.trim() || null;
  return {
    sha: sha && /^[0-9a-f]{7,64}$/.test(sha) ? sha : null,
    dirty: status === null ? true : status.trim().length > 0,
    branch: branchOut,
  };
}
