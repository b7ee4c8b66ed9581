/** Notebook entrypoints become scripts; secret scan of file contents. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectManifest } from '@trainyard/shared/snapshot/collect';
import { notebookOf, notebookToScript } from '@trainyard/shared/snapshot/notebook';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { scanContent } from '@trainyard/shared/snapshot/secrets';
import { unpackImage } from '../../src/images/unpack';
import { tempDir } from '../images/helpers';
import { harness, type Harness } from './helpers';

const EXAMPLE = fileURLToPath(new URL('../../../examples/eta-correction', import.meta.url));
const nb = (...cells: Array<[string, string]>) => JSON.stringify({ nbformat: 4, cells: cells.map(([cell_type, source]) => ({ cell_type, source: source.split(/(?<=\n)/), metadata: {} })) });

describe('notebook entrypoints', () => {
  let tmpNb: ReturnType<typeof tempDir>;
  before(() => (tmpNb = tempDir('nbunit')));
  after(() => tmpNb.cleanup());
  it('keeps code cells, handles %matplotlib and %time, refuses installs and shell escapes naming the cell', () => {
    const script = notebookToScript(nb(['markdown', '# title'], ['code', '%matplotlib inline\nx = 1\n'], ['code', '%time y = x + 1\nprint(y)'], ['code', '%%time\nprint("z")']), 'n.ipynb');
    writeFileSync(join(tmpNb.dir, 'n.py'), script);
    const out = execFileSync('python3', [join(tmpNb.dir, 'n.py')]).toString();
    assert.equal(out, '2\nz\n');
    assert.match(script, /# cell 2\n/);
    assert.throws(() => notebookToScript(nb(['code', 'import x'], ['code', '!pip install torch']), 'n.ipynb'), /cell 2 of n.ipynb runs "!pip install torch": installs do not run inside a version/);
    assert.throws(() => notebookToScript(nb(['code', '%pip install numpy']), 'n.ipynb'), /cell 1 of n.ipynb runs "%pip install numpy"/);
    assert.throws(() => notebookToScript(nb(['code', '!ls']), 'n.ipynb'), /cell 1 of n.ipynb runs the shell command "!ls"/);
    assert.throws(() => notebookToScript('{"cells": [', 'bad.ipynb'), /bad.ipynb is not a valid notebook: /);
    assert.throws(() => notebookToScript('{"x": 1}', 'bad.ipynb'), /no "cells" list/);
    assert.equal(notebookOf('python notebook.ipynb'), 'notebook.ipynb');
    assert.equal(notebookOf('python train.py'), null);
  });

  describe('saving', function () {
    this.timeout(60_000);
    let h: Harness;
    let tmp: ReturnType<typeof tempDir>;
    before(async () => {
      h = await harness('sqlite', 64 * 1024 * 1024);
      tmp = tempDir('nb');
    });
    after(async () => {
      await h.close();
      tmp.cleanup();
    });

    it('turns --entrypoint train=notebook.ipynb into a script that runs', async () => {
      const ws = join(tmp.dir, 'ws');
      cpSync(EXAMPLE, ws, { recursive: true });
      const scratchBefore = readdirSync(tmpdir()).filter((n) => n.startsWith('trainyard-nb-'));
      const saved = await saveWorkspace(h.client, { dir: ws, model: 'nb', version: 'v1', entrypoints: { train: 'notebook.ipynb' } });
      assert.equal(saved.version.entrypoints.train, 'python .trainyard/notebooks/train.py');
      // the generated script's folder is gone once the save has ended (each save left one in the temp folder)
      assert.deepEqual(readdirSync(tmpdir()).filter((n) => n.startsWith('trainyard-nb-') && !scratchBefore.includes(n)), []);
      const dest = join(tmp.dir, 'root');
      await unpackImage(h.ctx.images, 'nb', 'v1', dest);
      const out = execFileSync('python3', ['.trainyard/notebooks/train.py'], { cwd: join(dest, 'app'), env: { ...process.env, PYTHONPATH: join(dest, 'opt/trainyard/python'), TRAINYARD_PARAMS: '{"epochs":3,"n":300}', TRAINYARD_OUTPUT_DIR: join(tmp.dir, 'out') } }).toString();
      assert.match(out, /::trainyard:metric/);
    });

    it('refuses an invalid notebook with a clear error', async () => {
      const ws = join(tmp.dir, 'ws2');
      mkdirSync(ws);
      writeFileSync(join(ws, 'broken.ipynb'), '{"cells": [}');
      await assert.rejects(saveWorkspace(h.client, { dir: ws, model: 'nb', entrypoints: { train: 'python broken.ipynb' } }), /broken.ipynb is not a valid notebook/);
    });
  });
});

describe('secret scan of contents', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir('secrets')));
  afterEach(() => tmp.cleanup());
  const key = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAA', '-----END OPENSSH PRIVATE KEY-----'].join('\n');

  it('finds private keys, AWS keys and tokens, with the line', () => {
    assert.deepEqual(scanContent(Buffer.from(`a\nb\n${key}\n`)), { rule: 'private key header (-----BEGIN … PRIVATE KEY-----)', line: 3 });
    assert.match(scanContent(Buffer.from('AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"'))!.rule, /AWS access key id/);
    assert.match(scanContent(Buffer.from(`token = "ghp_${'a'.repeat(36)}"`))!.rule, /GitHub/);
    assert.match(scanContent(Buffer.from(`aws_secret_access_key=${'A'.repeat(40)}`))!.rule, /AWS secret/);
    assert.equal(scanContent(Buffer.from('print("hello")  # AKIA is a prefix')), null);
    assert.equal(scanContent(Buffer.concat([Buffer.from([0]), Buffer.from(key)])), null, 'binary files are not scanned');
  });

  it('refuses a workspace naming file and rule; a "!" line in .trainyardignore allows it', async () => {
    writeFileSync(join(tmp.dir, 'train.py'), 'print(1)\n');
    writeFileSync(join(tmp.dir, 'settings.py'), 'x = 1\nKEY = "AKIAIOSFODNN7EXAMPLE"\n');
    await assert.rejects(collectManifest(tmp.dir, { git: false }), /settings.py line 2 \(rule AWS access key id/);
    writeFileSync(join(tmp.dir, '.trainyardignore'), '!settings.py\n');
    const m = await collectManifest(tmp.dir, { git: false });
    assert.ok(m.files.some((f) => f.path === 'settings.py'));
    mkdirSync(join(tmp.dir, 'notes'));
    writeFileSync(join(tmp.dir, 'notes', 'deploy.txt'), key);
    await assert.rejects(collectManifest(tmp.dir, { git: false }), /notes\/deploy.txt line 1 \(rule private key header/);
    assert.ok(readFileSync(join(tmp.dir, 'notes', 'deploy.txt')).length > 0);
  });
});
