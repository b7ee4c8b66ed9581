/**
 * Real consumers read a run's artifacts: oras (built from the Go module proxy) and skopeo pull the
 * OCI artifact a local run of the outputs fixture leaves, from a real registry (docker-registry,
 * images.registry) and from the embedded OCI layout, and get exactly the bytes and sha256 the API
 * lists and serves.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ARTIFACT_TYPE, type ArtifactList } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { oras, orasBin } from '../components/oras';
import { startRegistry, type RegistryHandle } from '../components/registry';
import { REPO, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';

const OUTPUTS = join(REPO, 'test/fixtures/outputs');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** every regular file under dir, "/"-separated relative paths, sorted */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else if (e.isFile()) out.push(relative(base, p).split('\\').join('/'));
  }
  return out.sort();
}

/** a run of the outputs fixture ({files: 3, same: true}) on the local executor, and its listing */
async function runOutputs(b: TestBackend): Promise<ArtifactList> {
  await saveWorkspace(b.client, { dir: OUTPUTS, model: 'outputs', version: 'v1', cacheDir: false });
  const res = await b.client.launch({ model: 'outputs', params: { files: 3, same: true } });
  const [r] = await waitForRuns(b.client, [res.runs[0].id], 120_000);
  assert.equal(r.status, 'Succeeded', r.reason ?? '');
  assert.equal(r.executor, 'local');
  const list = await b.client.listArtifacts(r.id);
  assert.equal(list.state, 'stored');
  assert.deepEqual(list.files.map((f) => f.path), ['parts/part-0000.txt', 'parts/part-0001.txt', 'parts/part-0002.txt', 'same.txt']);
  return list;
}

/** what oras pulled into dir is exactly the listed files: same paths, sizes, sha256, and the API's bytes */
async function assertPulled(b: TestBackend, list: ArtifactList, dir: string): Promise<void> {
  assert.deepEqual(walk(dir), list.files.map((f) => f.path));
  for (const f of list.files) {
    const pulled = readFileSync(join(dir, ...f.path.split('/')));
    assert.equal(pulled.length, f.size, f.path);
    assert.equal(sha(pulled), f.sha256, f.path);
    const served = new Uint8Array(await (await b.client.downloadArtifact(list.runId, f.path)).arrayBuffer());
    assert.ok(Buffer.from(served).equals(pulled), `${f.path}: oras pulled other bytes than GET /v1/runs/${list.runId}/artifacts/${f.path} serves`);
  }
  assert.equal(readFileSync(join(dir, 'same.txt'), 'utf8'), 'the same in every run\n');
  assert.equal(readFileSync(join(dir, 'parts', 'part-0002.txt'), 'utf8'), `part 2 of run ${list.runId}\n`);
}

describe('run artifacts read by real consumers (oras, skopeo)', function () {
  this.timeout(10 * 60_000);
  const temps: string[] = [];
  const temp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    temps.push(d);
    return d;
  };
  before(() => {
    orasBin(); // built once from the Go module proxy when the cache lacks it
  });
  after(() => temps.forEach(removeHome));

  describe('in a registry (images.registry: docker-registry)', () => {
    let reg: RegistryHandle;
    let b: TestBackend;
    let list: ArtifactList;
    before(async () => {
      reg = await startRegistry();
      b = await startTestBackend({ images: { registry: `${reg.url}/team` }, executor: { local: { podman: 'never' } } });
      list = await runOutputs(b);
    });
    after(async () => {
      await b?.close();
      if (b) removeHome(b.home);
      await reg?.stop();
    });

    it('the listed ref is <registry>/<ns>/outputs:run-<id>; oras manifest fetch shows the artifact type, titles and digests', async () => {
      const ref = `${reg.host}/team/outputs:run-${list.runId}`;
      assert.equal(list.ref, ref);
      const raw = await oras(['manifest', 'fetch', '--plain-http', ref]);
      assert.equal(`sha256:${sha(Buffer.from(raw))}`, list.digest, 'oras fetched the manifest the API names');
      const m = JSON.parse(raw);
      assert.equal(m.artifactType, ARTIFACT_TYPE);
      assert.deepEqual(m.layers.map((l: { annotations: Record<string, string> }) => l.annotations['org.opencontainers.image.title']), list.files.map((f) => f.path));
      assert.deepEqual(m.layers.map((l: { digest: string }) => l.digest), list.files.map((f) => `sha256:${f.sha256}`));
      assert.deepEqual(m.layers.map((l: { size: number }) => l.size), list.files.map((f) => f.size));
      assert.equal(m.annotations['dev.trainyard.run-id'], list.runId);
      assert.equal(m.annotations['dev.trainyard.model'], 'outputs');
      const descriptor = JSON.parse(await oras(['manifest', 'fetch', '--plain-http', '--descriptor', ref]));
      assert.equal(descriptor.digest, list.digest);
    });

    it('oras pull --plain-http writes every file with the listed bytes and sha256', async () => {
      const dir = temp('ty-oras-pull-');
      await oras(['pull', '--plain-http', '--no-tty', '-o', dir, `${reg.host}/team/outputs:run-${list.runId}`]);
      await assertPulled(b, list, dir);
    });

    it("serves a file gone from the backend's blob cache: fetched back from the registry through the run's artifact manifest, verified", async () => {
      const f = list.files.find((x) => x.path === 'same.txt')!;
      const cached = join(b.home, 'image-cache', 'blobs', 'sha256', f.sha256);
      assert.ok(existsSync(cached), 'the pushed blob is in the cache');
      rmSync(cached);
      assert.equal(await (await b.client.downloadArtifact(list.runId, f.path)).text(), 'the same in every run\n');
      assert.ok(existsSync(cached), 'and is cached again');
    });

    it('skopeo inspect --raw reads the artifact type from the registry', () => {
      const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/outputs:run-${list.runId}`]);
      assert.equal(`sha256:${sha(raw)}`, list.digest);
      const m = JSON.parse(raw.toString('utf8'));
      assert.equal(m.artifactType, ARTIFACT_TYPE);
      assert.equal(m.layers.length, list.files.length);
    });
  });

  describe('in the embedded OCI layout', () => {
    let b: TestBackend;
    let list: ArtifactList;
    before(async () => {
      b = await startTestBackend({ executor: { local: { podman: 'never' } } });
      list = await runOutputs(b);
    });
    after(async () => {
      await b?.close();
      if (b) removeHome(b.home);
    });

    // The layout names the artifact "outputs:run-<id>" (org.opencontainers.image.ref.name, as
    // skopeo's oci:<dir>:<name> does). oras's `--oci-layout <dir>:<tag>` splits at the last ":", so
    // it reaches that name with --oci-layout-path <dir> and the name as the reference, or by digest.
    it('oras pull --oci-layout-path <dir> outputs:run-<id> (and <dir>@<digest>) writes every file with the listed bytes and sha256', async () => {
      const layout = join(b.home, 'images');
      const name = `outputs:run-${list.runId}`;
      assert.equal(list.ref, `oci-layout:${layout}:${name}`);
      const raw = await oras(['manifest', 'fetch', '--oci-layout-path', layout, name]);
      assert.equal(JSON.parse(raw).artifactType, ARTIFACT_TYPE);
      assert.equal(`sha256:${sha(Buffer.from(raw))}`, list.digest);
      const dir = temp('ty-oras-layout-');
      await oras(['pull', '--no-tty', '--oci-layout-path', layout, '-o', dir, name]);
      await assertPulled(b, list, dir);
      const byDigest = temp('ty-oras-digest-');
      await oras(['pull', '--no-tty', '--oci-layout', '-o', byDigest, `${layout}@${list.digest}`]);
      await assertPulled(b, list, byDigest);
      assert.ok(statSync(join(layout, 'index.json')).isFile(), 'oras left the layout in place');
    });
  });
});
