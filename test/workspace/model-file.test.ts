/** .trainyard/model.json: the remembered answers of a workspace's first save (shared/src/workspace/model-file.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWorkspaceModel, writeWorkspaceModel } from '@trainyard/shared/workspace/model-file';

describe('workspace model file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ty-mf-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is null when absent, and reads back what was written', async () => {
    assert.equal(await readWorkspaceModel(dir), null);
    const m = { model: 'eta-correction', entrypoints: { train: 'notebook.ipynb' }, baseImage: '127.0.0.1:5000/base:1', selfTest: 'python -c 1', strategy: 'copy' as const };
    await writeWorkspaceModel(dir, m);
    assert.deepEqual(await readWorkspaceModel(dir), m);
    assert.deepEqual(readdirSync(join(dir, '.trainyard')), ['model.json'], 'no temp file left behind');
  });

  it('refuses a bad file with its path and field, and never writes a bad one over a good one', async () => {
    mkdirSync(join(dir, '.trainyard'));
    writeFileSync(join(dir, '.trainyard/model.json'), JSON.stringify({ model: 'ok', entrypoints: { train: '' } }));
    await assert.rejects(readWorkspaceModel(dir), /model\.json: entrypoints\.train: .*fix or delete the file/);
    writeFileSync(join(dir, '.trainyard/model.json'), JSON.stringify({ model: 'ok', colour: 'red' }));
    await assert.rejects(readWorkspaceModel(dir), /model\.json: .*fix or delete the file/);
    await writeWorkspaceModel(dir, { model: 'good' });
    await assert.rejects(writeWorkspaceModel(dir, { model: 'Not A Name' }), /model/);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, '.trainyard/model.json'), 'utf8')), { model: 'good' });
  });
});
