/**
 * The environment cache (shared/src/snapshot/environment.ts): a second capture of an unchanged
 * interpreter reuses the first without running Python; a distribution file edited in place
 * (same size, mtime put back with utimes), a distribution installed next to it, or its
 * METADATA edited, makes the next capture run Python again; that capture reads again only the
 * files whose stat changed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureEnvironment } from '@trainyard/shared/snapshot/environment';
import { RACY_MS } from '@trainyard/shared/snapshot/hash-cache';
import { tempDir } from '../../backend/test/images/helpers';
import { execFileSync } from 'node:child_process';

/** a venv (no pip) with tinydep 1.2.3 installed as a wheel would (as environment.test.ts's, without loading that suite) */
function makeVenv(dir: string): string {
  execFileSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', dir]);
  const site = join(dir, 'lib', 'python3.11', 'site-packages');
  const files: Array<[string, Buffer]> = [
    ['tinydep/__init__.py', Buffer.from('def hello():\n    return "hi"\n')],
    ['tinydep/data.bin', Buffer.alloc(4096, 7)],
    ['tinydep-1.2.3.dist-info/METADATA', Buffer.from('Metadata-Version: 2.1\nName: tinydep\nVersion: 1.2.3\n')],
  ];
  const record: string[] = [];
  for (const [p, data] of files) {
    mkdirSync(join(site, p, '..'), { recursive: true });
    writeFileSync(join(site, p), data);
    record.push(`${p},sha256=${createHash('sha256').update(data).digest('base64url')},${data.length}`);
  }
  record.push('tinydep-1.2.3.dist-info/RECORD,,');
  writeFileSync(join(site, 'tinydep-1.2.3.dist-info', 'RECORD'), `${record.join('\n')}\n`);
  return join(dir, 'bin', 'python');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('the environment cache', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tempDir>;
  let python: string;
  let site: string;
  let cache: string;
  const cacheFile = () => join(cache, readdirSync(cache).find((n) => n.endsWith('.json'))!);
  const headFile = () => cacheFile().replace(/\.json$/, '.watch');
  /** marks the remembered summary: a capture that returns the mark came from the cache, without running Python */
  const mark = () => {
    const doc = JSON.parse(readFileSync(headFile(), 'utf8'));
    doc.data.summary.python = 'from-the-cache';
    writeFileSync(headFile(), JSON.stringify(doc));
  };
  const fromCache = (env: { summary: { python: string } }) => env.summary.python === 'from-the-cache';
  const settle = async (paths: string[]) => {
    for (const p of paths) utimesSync(p, new Date(2001, 1, 1), new Date(2001, 1, 1));
    await sleep(RACY_MS + 200);
  };

  before(async () => {
    tmp = tempDir('envcache');
    python = makeVenv(join(tmp.dir, 'venv'));
    site = join(tmp.dir, 'venv', 'lib', 'python3.11', 'site-packages');
    cache = join(tmp.dir, 'cache');
    await settle([join(site, 'tinydep', 'data.bin'), join(site, 'tinydep-1.2.3.dist-info', 'METADATA')]);
  });
  after(() => tmp?.cleanup());

  it('reuses an unchanged environment without running Python', async () => {
    const first = await captureEnvironment(python, { cache });
    const one = await first.load();
    assert.ok(one.environment.distributions.some((d) => d.name === 'tinydep'));
    assert.ok(!first.cached && !fromCache(first));
    mark();
    const second = await captureEnvironment(python, { cache });
    assert.ok(second.cached && fromCache(second));
    assert.equal(second.digest, first.digest);
    const two = await second.load();
    assert.deepEqual(two.environment, one.environment);
    assert.deepEqual([...two.sources], [...one.sources]);
    const f = one.environment.distributions.find((d) => d.name === 'tinydep')!.files!.find((x) => x.path === 'tinydep/data.bin')!;
    assert.equal(Object.keys(f).sort().join(','), 'mode,path,sha256,size', 'no local paths or stat keys leave the client');
  });

  it('sees a same-size edit of a distribution file whose mtime is put back', async () => {
    await captureEnvironment(python, { cache });
    mark();
    const p = join(site, 'tinydep', 'data.bin');
    const before = statSync(p);
    const data = readFileSync(p);
    data[0] ^= 0xff;
    writeFileSync(p, data);
    utimesSync(p, before.atime, before.mtime);
    const env = await captureEnvironment(python, { cache });
    assert.ok(!fromCache(env));
    const f = (await env.load()).environment.distributions.find((d) => d.name === 'tinydep')!.files!.find((x) => x.path === 'tinydep/data.bin')!;
    assert.equal(f.sha256, sha(data));
  });

  it('sees a distribution installed next to the others and an edited METADATA', async () => {
    await settle([join(site, 'tinydep', 'data.bin')]);
    await captureEnvironment(python, { cache });
    mark();
    const di = join(site, 'otherdep-0.1.dist-info');
    mkdirSync(di);
    writeFileSync(join(di, 'METADATA'), 'Metadata-Version: 2.1\nName: otherdep\nVersion: 0.1\n');
    writeFileSync(join(di, 'RECORD'), 'otherdep-0.1.dist-info/METADATA,,\n');
    let env = await captureEnvironment(python, { cache });
    assert.ok((await env.load()).environment.distributions.some((d) => d.name === 'otherdep'));

    await settle([join(di, 'METADATA'), join(di, 'RECORD'), di, site]);
    await captureEnvironment(python, { cache });
    mark();
    const meta = join(di, 'METADATA');
    const before = statSync(meta);
    writeFileSync(meta, 'Metadata-Version: 2.1\nName: otherdep\nVersion: 0.2\n'); // same size
    utimesSync(meta, before.atime, before.mtime);
    env = await captureEnvironment(python, { cache });
    assert.ok(!fromCache(env));
    assert.equal((await env.load()).environment.distributions.find((d) => d.name === 'otherdep')!.version, '0.2');
  });

  it('reads again only the files whose stat changed since the last capture', async () => {
    const init = join(site, 'tinydep', '__init__.py');
    await settle([join(site, 'tinydep', 'data.bin'), init]);
    await captureEnvironment(python, { cache });
    // the remembered capture says data.bin hashes to a made-up sha256: taken as is while its stat key is the same
    const doc = JSON.parse(readFileSync(cacheFile(), 'utf8'));
    for (const d of doc.data.raw.distributions) for (const f of d.files ?? []) if (f.path === 'tinydep/data.bin') f.sha256 = 'f'.repeat(64);
    writeFileSync(cacheFile(), JSON.stringify(doc));
    const edited = 'def hello():\n    return "hello again"\n';
    writeFileSync(init, edited); // a change: Python runs again
    const files = (await (await captureEnvironment(python, { cache })).load()).environment.distributions.find((d) => d.name === 'tinydep')!.files!;
    assert.equal(files.find((f) => f.path === 'tinydep/data.bin')!.sha256, 'f'.repeat(64), 'unchanged since: not read again');
    assert.equal(files.find((f) => f.path === 'tinydep/__init__.py')!.sha256, sha(edited), 'changed: read and hashed again');
  });

  it('reads the remembered environment only when it is loaded, and not one another capture wrote', async () => {
    await settle([join(site, 'tinydep', 'data.bin'), join(site, 'tinydep', '__init__.py')]);
    const first = await captureEnvironment(python, { cache });
    const want = (await first.load()).environment;
    mark();
    // the environment's file is not read for the summary and digest
    const full = readFileSync(cacheFile(), 'utf8');
    writeFileSync(cacheFile(), 'not json');
    const cached = await captureEnvironment(python, { cache });
    assert.ok(fromCache(cached) && cached.digest === first.digest);
    // loaded: the file beside the head is not the capture's (here unreadable; a racing save's has another id): Python runs again
    const loaded = await cached.load();
    assert.deepEqual(loaded.environment, want);
    assert.notEqual(readFileSync(cacheFile(), 'utf8'), 'not json', 'the capture made again is remembered');
    const doc = JSON.parse(full);
    doc.data.id = 'another capture';
    writeFileSync(cacheFile(), JSON.stringify(doc));
    mark();
    assert.deepEqual((await (await captureEnvironment(python, { cache })).load()).environment, want);
    assert.notEqual(JSON.parse(readFileSync(cacheFile(), 'utf8')).data.id, 'another capture');
    // a head of another shape (a damaged file) is a miss: Python runs again and writes it anew
    const head = JSON.parse(readFileSync(headFile(), 'utf8'));
    head.data.summary = null;
    writeFileSync(headFile(), JSON.stringify(head));
    const again = await captureEnvironment(python, { cache });
    assert.ok(!again.cached && again.summary.python.startsWith('3.'));
    assert.equal(JSON.parse(readFileSync(headFile(), 'utf8')).data.summary.distributions, again.summary.distributions);
  });
});
