/** collectManifest (shared/src/snapshot): ignore files, exclusions, symlinks, secrets, git. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { collectManifest, WorkspaceError } from '@trainyard/shared/snapshot/collect';
import { mayBeInRepo } from '@trainyard/shared/snapshot/git';
import { absoluteBase, defaultEntrypoints } from '@trainyard/shared/snapshot/save';

function write(root: string, files: Record<string, string>): void {
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), c);
  }
}
const paths = async (dir: string) => (await collectManifest(dir, { git: false })).files.map((f) => f.path);
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { stdio: 'pipe' }).toString().trim();

describe('snapshot/collect', () => {
  let root: string;
  let ws: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ty-collect-'));
    ws = join(root, 'ws');
    mkdirSync(ws);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('applies nested .gitignore and .trainyardignore with git precedence, and the fixed exclusions', async () => {
    write(ws, {
      'train.py': 'x',
      '.gitignore': '*.log\ndata/\n!keep.log\nbuild\n',
      'keep.log': 'k',
      'debug.log': 'd',
      'data/big.csv': 'b',
      'build/out.txt': 'o',
      'src/.gitignore': '*.tmp\n!important.log\n',
      'src/a.py': 'a',
      'src/x.tmp': 't',
      'src/important.log': 'i',
      'src/deep/y.tmp': 't',
      'notes/.trainyardignore': 'private.md\n',
      'notes/private.md': 'p',
      'notes/public.md': 'p',
      '.trainyardignore': '!debug.log\nscratch/\n',
      'scratch/s.py': 's',
      'node_modules/x/index.js': 'n',
      'src/__pycache__/a.pyc': 'c',
      '.venv/bin/python': 'v',
      'venv/lib/x.py': 'v',
      '.ipynb_checkpoints/n-checkpoint.ipynb': 'c',
      '.git/config': 'g',
    });
    assert.deepEqual(await paths(ws), ['.gitignore', '.trainyardignore', 'debug.log', 'keep.log', 'notes/.trainyardignore', 'notes/public.md', 'src/.gitignore', 'src/a.py', 'src/important.log', 'train.py']);
  });

  it('records sha256, size and a git-like mode, sorted by path; extra ignore patterns apply', async () => {
    write(ws, { 'train.py': 'print(1)\n', 'run.sh': '#!/bin/sh\n', 'B.txt': '' });
    chmodSync(join(ws, 'run.sh'), 0o750);
    chmodSync(join(ws, 'train.py'), 0o664);
    const m = await collectManifest(ws, { git: false, ignore: ['B.txt'] });
    assert.deepEqual(m.files, [
      { path: 'run.sh', sha256: createHash('sha256').update('#!/bin/sh\n').digest('hex'), size: 10, mode: 0o755 },
      { path: 'train.py', sha256: createHash('sha256').update('print(1)\n').digest('hex'), size: 9, mode: 0o644 },
    ]);
    assert.equal(m.totalBytes, 19);
    assert.equal(m.sources.get(m.files[1].sha256), join(m.root, 'train.py'));
  });

  it('refuses secrets, naming the file and the rule, unless allowed with "!" in .trainyardignore', async () => {
    write(ws, { 'train.py': 'x', 'conf/.env': 'TOKEN=1', 'keys/id_rsa': 'k', 'keys/id_rsa.pub': 'pub', '.env.example': 'TOKEN=', 'home/.aws/credentials': 'c' });
    await assert.rejects(collectManifest(ws, { git: false }), (err: Error) => {
      assert.ok(err instanceof WorkspaceError);
      assert.match(err.message, /conf\/\.env \(rule \.env, \.env\.\*/);
      assert.match(err.message, /keys\/id_rsa \(rule id_rsa\*/);
      assert.match(err.message, /home\/\.aws\/credentials \(rule \.aws\/credentials/);
      assert.doesNotMatch(err.message, /id_rsa\.pub \(rule|\.env\.example \(rule/);
      assert.match(err.message, /"!<path>" line in \.trainyardignore/);
      return true;
    });
    write(ws, { '.trainyardignore': '!conf/.env\n!keys/id_rsa\n', '.gitignore': '.aws/\n' });
    assert.deepEqual(await paths(ws), ['.env.example', '.gitignore', '.trainyardignore', 'conf/.env', 'keys/id_rsa', 'keys/id_rsa.pub', 'train.py']);
  });

  it('follows symlinks inside the workspace only, and refuses FIFOs', async () => {
    write(ws, { 'train.py': 'x', 'real/data.txt': 'd' });
    writeFileSync(join(root, 'outside.txt'), 'secret');
    symlinkSync('real/data.txt', join(ws, 'alias.txt'));
    symlinkSync('real', join(ws, 'alias-dir'));
    symlinkSync('missing', join(ws, 'broken'));
    const m = await collectManifest(ws, { git: false });
    assert.deepEqual(m.files.map((f) => f.path), ['alias.txt', 'real/data.txt', 'train.py']);
    assert.equal(m.files[0].sha256, m.files[1].sha256);
    assert.ok(m.warnings.some((w) => /alias-dir: a symlink to the folder real/.test(w)));
    assert.ok(m.warnings.some((w) => /broken: a broken symlink/.test(w)));

    symlinkSync(join(root, 'outside.txt'), join(ws, 'leak.txt'));
    await assert.rejects(collectManifest(ws, { git: false }), /leak\.txt is a symlink to .*outside\.txt, outside the workspace/);
    writeFileSync(join(ws, '.gitignore'), 'leak.txt\n');
    assert.deepEqual(await paths(ws), ['.gitignore', 'alias.txt', 'real/data.txt', 'train.py'], 'an ignored outside link is fine');

    execFileSync('mkfifo', [join(ws, 'pipe')]);
    await assert.rejects(collectManifest(ws, { git: false }), /pipe is a FIFO/);
  });

  it('reads git sha and dirty state; no repo or no git means sha null', async () => {
    write(ws, { 'train.py': 'x' });
    assert.deepEqual((await collectManifest(ws)).git, { sha: null, dirty: false, branch: null });
    git(root, 'init', '-q', '-b', 'main');
    assert.deepEqual((await collectManifest(ws)).git, { sha: null, dirty: true, branch: 'main' }, 'no commit yet');
    write(root, { 'other/file.txt': 'o' });
    git(root, 'add', 'ws');
    git(root, 'commit', '-q', '-m', 'first');
    const sha = git(root, 'rev-parse', 'HEAD');
    assert.deepEqual((await collectManifest(ws)).git, { sha, dirty: false, branch: 'main' }, 'changes outside the workspace do not count');
    writeFileSync(join(ws, 'train.py'), 'y');
    assert.equal((await collectManifest(ws)).git.dirty, true);
    git(root, 'checkout', '-q', '--', 'ws');
    writeFileSync(join(ws, 'new.py'), 'n');
    assert.equal((await collectManifest(ws)).git.dirty, true, 'untracked files make it dirty');
    git(root, 'checkout', '-q', '--detach');
    assert.deepEqual((await collectManifest(ws)).git, { sha, dirty: true, branch: null }, 'a detached HEAD has no branch');
    // a damaged index: the sha is still read, and the folder counts as changed
    const index = readFileSync(join(root, '.git', 'index'));
    writeFileSync(join(root, '.git', 'index'), 'DIRC damaged');
    assert.deepEqual((await collectManifest(ws)).git, { sha, dirty: true, branch: null });
    writeFileSync(join(root, '.git', 'index'), index);
    // git is started only where it could find a repository: a .git above (a folder, or the file of a worktree), or GIT_DIR
    const wt = join(root, '..', `${basename(root)}-wt`);
    git(root, 'worktree', 'add', '-q', '--detach', wt, sha);
    try {
      assert.equal((await collectManifest(join(wt, 'ws'))).git.sha, sha, 'a worktree (its .git is a file)');
      const outside = join(root, '..', `${basename(root)}-plain`);
      write(outside, { 'train.py': 'x' });
      assert.equal(mayBeInRepo(outside), false);
      assert.equal(mayBeInRepo(outside, { GIT_DIR: join(root, '.git') }), true);
      assert.equal(mayBeInRepo(join(ws, 'deeper', 'still')), true);
      rmSync(outside, { recursive: true, force: true });
    } finally {
      git(root, 'worktree', 'remove', '--force', wt);
    }
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      assert.equal((await collectManifest(ws)).git.sha, null);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('derives default entrypoints from train.py and predict.py', () => {
    const f = (path: string) => ({ path, sha256: '0'.repeat(64), size: 0, mode: 0o644 });
    assert.deepEqual(defaultEntrypoints([f('train.py'), f('predict.py')]), { train: 'python train.py', predict: 'python predict.py' });
    assert.deepEqual(defaultEntrypoints([f('train.py')], { train: 'python other.py' }), { train: 'python other.py' });
    assert.throws(() => defaultEntrypoints([f('main.py')]), /no train entrypoint: pass --entrypoint train='python my_script.py'/);
  });

  it('makes relative base-image paths absolute for the backend', () => {
    assert.equal(absoluteBase('oci:./base:latest'), `oci:${join(process.cwd(), 'base')}:latest`);
    assert.equal(absoluteBase('../b'), join(process.cwd(), '..', 'b'));
    assert.equal(absoluteBase('oci-layout:/abs:x'), 'oci-layout:/abs:x');
    assert.equal(absoluteBase('python:3.11-slim'), 'python:3.11-slim');
  });
});
