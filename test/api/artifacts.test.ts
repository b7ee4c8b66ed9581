/**
 * Run artifacts on the local executor, through the public API: what a run leaves in
 * TRAINYARD_OUTPUT_DIR is kept as an OCI artifact (read back by skopeo), listed, downloaded
 * whole and by range, limited by config, deduplicated across runs, and handed to a later
 * run with fromRun (TRAINYARD_INPUT_DIR).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError, ARTIFACT_TYPE } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { CLI, REPO, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';

const OUTPUTS = join(REPO, 'test/fixtures/outputs');
const ETA = join(REPO, 'examples/eta-correction');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('run artifacts on the local executor', () => {
  let b: TestBackend;
  before(async () => {
    b = await startTestBackend({ artifacts: { maxFiles: 20 } });
    await saveWorkspace(b.client, { dir: OUTPUTS, model: 'outputs', version: 'v1', cacheDir: false });
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
  });

  const run = async (params: Record<string, string | number | boolean>, extra: { fromRun?: string; entrypoint?: string } = {}) => {
    const res = await b.client.launch({ model: 'outputs', params, ...extra });
    const [r] = await waitForRuns(b.client, [res.runs[0].id], 120_000);
    return r;
  };
  const stdout = async (id: string) => (await b.client.getLogs(id)).lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
  const layout = () => join(b.home, 'images');

  it('keeps the output files as an OCI artifact that skopeo reads; lists path, size and sha256; downloads whole and by range', async () => {
    const r = await run({ files: 3, same: true, big_mb: 3 });
    assert.equal(r.status, 'Succeeded', r.reason ?? '');
    assert.equal(r.reason, null, 'nothing was dropped');
    const list = await b.client.listArtifacts(r.id);
    assert.equal(list.state, 'stored');
    assert.deepEqual(list.files.map((f) => f.path), ['big.bin', 'parts/part-0000.txt', 'parts/part-0001.txt', 'parts/part-0002.txt', 'same.txt']);
    assert.equal(list.totalBytes, list.files.reduce((n, f) => n + f.size, 0));
    assert.equal(list.files[0].size, 3 << 20);
    assert.equal(list.ref, `oci-layout:${layout()}:outputs:run-${r.id}`);

    // every file downloads to the bytes the listing promises
    for (const f of list.files) {
      const res = await b.client.downloadArtifact(r.id, f.path);
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.equal(bytes.length, f.size, f.path);
      assert.equal(sha(bytes), f.sha256, f.path);
      assert.equal(res.headers.get('etag'), `"sha256:${f.sha256}"`);
    }
    const part = await b.client.downloadArtifact(r.id, 'parts/part-0001.txt');
    assert.equal(await part.text(), `part 1 of run ${r.id}\n`);

    // a range is answered 206 with exactly those bytes
    const big = list.files[0];
    const ranged = await b.client.downloadArtifact(r.id, 'big.bin', { range: { start: 1000, end: 1999 } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 1000-1999/${big.size}`);
    const slice = new Uint8Array(await ranged.arrayBuffer());
    assert.equal(slice.length, 1000);
    assert.deepEqual([...slice.slice(0, 4)], [1000 % 256, 1001 % 256, 1002 % 256, 1003 % 256]);
    const tail = await b.client.downloadArtifact(r.id, 'big.bin', { range: { start: big.size - 10 } });
    assert.equal((await tail.arrayBuffer()).byteLength, 10);

    // skopeo reads the artifact's manifest from the OCI layout: artifactType, titles, annotations
    const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci:${layout()}:outputs:run-${r.id}`], { encoding: 'utf8' }));
    assert.equal(raw.artifactType, ARTIFACT_TYPE);
    assert.deepEqual(raw.layers.map((l: { annotations: Record<string, string> }) => l.annotations['org.opencontainers.image.title']), list.files.map((f) => f.path));
    assert.deepEqual(raw.layers.map((l: { digest: string }) => l.digest), list.files.map((f) => `sha256:${f.sha256}`));
    assert.equal(raw.annotations['dev.trainyard.run-id'], r.id);
    assert.equal(raw.annotations['dev.trainyard.entrypoint'], 'train');
    assert.deepEqual(JSON.parse(raw.annotations['dev.trainyard.params']), { files: 3, same: true, big_mb: 3 });
    assert.equal(`sha256:${sha(execFileSync('skopeo', ['inspect', '--raw', `oci:${layout()}:outputs:run-${r.id}`]))}`, list.digest);
  });

  it('stores a file equal across runs once', async () => {
    const blobs = () => readdirSync(join(layout(), 'blobs', 'sha256')).length;
    const a = await run({ same: true });
    const n = blobs();
    const c = await run({ same: true });
    assert.equal(c.status, 'Succeeded');
    const [la, lc] = [await b.client.listArtifacts(a.id), await b.client.listArtifacts(c.id)];
    assert.equal(la.files[0].sha256, lc.files[0].sha256);
    // the second run adds only its manifest (its annotations name another run)
    assert.equal(blobs(), n + 1);
  });

  it('a run over the file limit keeps what fits and says what was dropped; a symlink out of the directory is dropped, one inside is kept', async () => {
    const r = await run({ files: 25, link_out: true, link_in: true });
    assert.equal(r.status, 'Succeeded');
    assert.match(r.reason ?? '', /artifacts: dropped .*escape: a symlink leading out of the output directory/);
    assert.match(r.reason ?? '', /file\(s\) past the limit of 20 files per run \(artifacts\.maxFiles\)/);
    const list = await b.client.listArtifacts(r.id);
    assert.equal(list.files.length, 20);
    assert.ok(list.files.some((f) => f.path === 'alias.txt'));
    assert.ok(!list.files.some((f) => f.path === 'escape'));
    assert.equal(await (await b.client.downloadArtifact(r.id, 'alias.txt')).text(), 'real\n');
    assert.equal(list.note, r.reason);
  });

  it('a failed run keeps its outputs too; a run that wrote nothing has none', async () => {
    const failed = await run({ same: true, fail: 3 });
    assert.equal(failed.status, 'Failed');
    assert.equal((await b.client.listArtifacts(failed.id)).files.length, 1);
    const empty = await run({});
    const list = await b.client.listArtifacts(empty.id);
    assert.equal(list.state, 'none');
    assert.deepEqual(list.files, []);
  });

  it('refuses bad paths and ranges with a reason, and answers 404 for what is not there', async () => {
    const r = await run({ same: true });
    const status = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${b.url}/v1/runs/${r.id}/artifacts/${path}`, { headers: { Authorization: `Bearer ${b.token}`, ...headers } });
      return { status: res.status, body: (await res.text()).slice(0, 300) };
    };
    assert.equal((await status('nope.txt')).status, 404);
    const dots = await status('..%2Fsecret'); // fetch itself resolves a literal ../ before sending
    assert.equal(dots.status, 400, dots.body);
    assert.equal((await status('a//b')).status, 400);
    const bad = await status('same.txt', { Range: 'bytes=100-200' });
    assert.equal(bad.status, 416);
    assert.match(bad.body, /does not fit the 22 bytes of same.txt/);
    await assert.rejects(b.client.downloadArtifact(r.id, '../etc/passwd'), (e: ApiError) => e.status === 400);
    await assert.rejects(b.client.listArtifacts('run_0000000000nope'), (e: ApiError) => e.status === 404);
  });

  it('fromRun hands a training run\'s artifacts to a later run, read-only, and records which run it read', async () => {
    const trained = await run({ same: true, files: 2 });
    const r = await run({}, { fromRun: trained.id, entrypoint: 'predict' });
    assert.equal(r.status, 'Succeeded', r.reason ?? '');
    assert.equal(r.inputRunId, trained.id);
    const lines = (await stdout(r.id)).filter((l) => l.startsWith('input '));
    const partBytes = `part 0 of run ${trained.id}\n`.length;
    assert.deepEqual(lines.sort(), [`input parts/part-0000.txt ${partBytes} 444`, `input parts/part-0001.txt ${partBytes} 444`, 'input same.txt 22 444']);

    // "latest" is the newest succeeded train run with artifacts
    const latest = await run({}, { fromRun: 'latest', entrypoint: 'predict' });
    assert.equal(latest.status, 'Succeeded', latest.reason ?? '');
    assert.equal(latest.inputRunId, trained.id);

    // what cannot be read is refused at launch, with what to do
    await assert.rejects(b.client.launch({ model: 'outputs', entrypoint: 'predict', fromRun: 'run_0000000000nope' }), (e: ApiError) => e.status === 400 && /not found/.test(e.message));
    const none = await run({});
    await assert.rejects(b.client.launch({ model: 'outputs', entrypoint: 'predict', fromRun: none.id }), (e: ApiError) => e.status === 400 && /kept no artifacts/.test(e.message));
  });

  it('the example: train writes model.json, and predict --from-run latest uses it', async () => {
    await saveWorkspace(b.client, { dir: ETA, model: 'eta-correction', version: 'v1', cacheDir: false });
    const t = (await b.client.launch({ model: 'eta-correction', params: { n: 2000, epochs: 3 } })).runs[0].id;
    const [trained] = await waitForRuns(b.client, [t], 120_000);
    assert.equal(trained.status, 'Succeeded', trained.reason ?? '');
    const model = (await b.client.listArtifacts(t)).files.find((f) => f.path === 'model.json');
    assert.ok(model, 'train kept model.json');
    const p = (await b.client.launch({ model: 'eta-correction', entrypoint: 'predict', fromRun: 'latest', params: { n: 50 } })).runs[0].id;
    const [predicted] = await waitForRuns(b.client, [p], 120_000);
    assert.equal(predicted.status, 'Succeeded', predicted.reason ?? '');
    assert.equal(predicted.inputRunId, t);
    const out = (await b.client.getLogs(p)).lines.map((l) => l.text);
    assert.ok(out.some((l) => /^using the model in .*model\.json$/.test(l) && !l.includes('output/')), out.join('\n'));
    const preds = (await b.client.listArtifacts(p)).files.map((f) => f.path);
    assert.deepEqual(preds, ['predictions.csv']);
    const body = await (await b.client.downloadArtifact(p, 'predictions.csv')).text();
    assert.equal(body.trim().split('\n').length, 51, 'a header and 50 predictions');
    assert.equal(sha(readFileSync(join(b.home, 'runs', t, 'output', 'model.json'))), model!.sha256);
  });

  it('the CLI: predict --from-run latest, artifacts lists, --download verifies and writes each file', async () => {
    const cli = async (args: string[]) => {
      const env = { ...process.env, TRAINYARD_URL: b.url, TRAINYARD_TOKEN: b.token, NO_COLOR: '1' };
      try {
        const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args], { env });
        return stdout;
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        throw new Error(`trainyard ${args.join(' ')} exited ${e.code}: ${e.stderr}`);
      }
    };
    const trained = await run({ same: true, files: 2 });
    const launched = JSON.parse(await cli(['predict', 'outputs', '--from-run', 'latest', '--json']));
    assert.equal(launched.runs[0].entrypoint, 'predict');
    const [p] = await waitForRuns(b.client, [launched.runs[0].id], 120_000);
    assert.equal(p.inputRunId, trained.id);
    assert.match(await cli(['run', p.id]), new RegExp(`input\\s+the artifacts of ${trained.id}`));

    const text = await cli(['artifacts', trained.id]);
    assert.match(text, /parts\/part-0000\.txt/);
    assert.match(text, /3 files, /);
    const dir = mkdtempSync(join(tmpdir(), 'ty-artifacts-'));
    try {
      assert.match(await cli(['artifacts', trained.id, '--download', dir]), /downloaded 3 files .* each sha256 verified/);
      assert.equal(readFileSync(join(dir, 'same.txt'), 'utf8'), 'the same in every run\n');
      assert.equal(readFileSync(join(dir, 'parts', 'part-0001.txt'), 'utf8'), `part 1 of run ${trained.id}\n`);
    } finally {
      removeHome(dir);
    }
    await assert.rejects(cli(['predict', 'outputs', '--from-run', 'yesterday']), /--from-run expects a run id .* or "latest"/);
  });
});
