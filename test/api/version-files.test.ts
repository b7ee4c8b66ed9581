/** GET /v1/models/:m/versions/:v/files[/*path]: a version's own files, read back from its image. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ApiError } from '@trainyard/shared';
import { REPO, removeHome, startTestBackend, type TestBackend } from '../helpers/backend';

const ETA = join(REPO, 'examples/eta-correction');

describe('version files', () => {
  let b: TestBackend;
  before(async () => {
    b = await startTestBackend();
    await saveWorkspace(b.client, { dir: ETA, model: 'eta', version: 'f1', cacheDir: false, entrypoints: { train: 'python train.py', nb: 'notebook.ipynb' } });
  });
  after(async () => {
    await b.close();
    removeHome(b.home);
  });

  const rawGet = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(b.url);
      const req = request({ host: u.hostname, port: u.port, path, headers: { Authorization: `Bearer ${b.token}` } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject).end();
    });
  const status = async (p: Promise<unknown>) => p.then(() => 200, (e: ApiError) => e.status);

  it('lists the workspace files and the generated notebook script, sorted, with sizes and modes', async () => {
    const { items } = await b.client.listVersionFiles('eta', 'f1');
    const paths = items.map((f) => f.path);
    for (const p of ['README.md', 'eta_data.py', 'notebook.ipynb', 'predict.py', 'train.py']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    assert.ok(paths.some((p) => /\/nb\.py$/.test(p)), `the notebook's script is listed: ${paths.join(', ')}`);
    assert.deepEqual(paths, [...paths].sort());
    const train = items.find((f) => f.path === 'train.py')!;
    assert.equal(train.size, readFileSync(join(ETA, 'train.py')).length);
    assert.equal(train.mode & 0o600, 0o600);
  });

  it('reads a file byte for byte', async () => {
    const got = await b.client.readVersionFile('eta', 'f1', 'eta_data.py');
    assert.deepEqual(Buffer.from(got), readFileSync(join(ETA, 'eta_data.py')));
  });

  it('answers 404 for a missing file or version, and 400 for a path that leaves the workspace', async () => {
    const missing = await b.client.readVersionFile('eta', 'f1', 'nope.py').catch((e: ApiError) => e);
    assert.ok(missing instanceof ApiError && missing.status === 404 && missing.code === 'not_found', String(missing));
    assert.match(missing.message, /eta:f1 has no file "nope\.py"/);
    assert.equal(await status(b.client.listVersionFiles('eta', 'nope')), 404);
    assert.equal(await status(b.client.readVersionFile('eta', 'nope', 'train.py')), 404);
    const err = await b.client.readVersionFile('eta', 'f1', 'a/../train.py').catch((e: ApiError) => e);
    assert.ok(err instanceof ApiError && err.status === 400, String(err));
    assert.match(err.message, /workspace-relative path/);
    // sent as is (fetch and axios would normalize the dots away before the server sees them)
    for (const raw of ['../../etc/passwd', 'a/../train.py', 'a//b', '%2Fetc%2Fpasswd', './train.py']) {
      const res = await rawGet(`/v1/models/eta/versions/f1/files/${raw}`);
      assert.equal(res.status, 400, `${raw}: ${res.status} ${res.body}`);
      assert.equal(JSON.parse(res.body).error.code, 'invalid_request');
    }
  });

  it('needs the bearer token', async () => {
    const res = await fetch(`${b.url}/v1/models/eta/versions/f1/files`);
    assert.equal(res.status, 401);
  });
});
