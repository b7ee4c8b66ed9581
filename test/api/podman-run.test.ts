/** A version with a real base image runs inside podman, from the image itself, through the whole API path. */
import assert from 'node:assert/strict';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ensureBaseImage } from '../components/base-image';
import { COUNTER, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';

describe('local executor: podman path through the API', () => {
  let b: TestBackend;
  before(async function () {
    this.timeout(600000);
    const base = await ensureBaseImage();
    b = await startTestBackend({ executor: { local: { podman: 'always' } } });
    const saved = await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1+dirty.abc', baseImage: `oci-layout:${base}:latest` });
    assert.ok(saved.version.baseImage, 'the version records its base image');
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
  });

  it('runs train in a container from the version image, with metrics and the contract env', async () => {
    const res = await b.client.launch({ model: 'counter', params: { steps: 3 } });
    const [run] = await waitForRuns(b.client, [res.runs[0].id], 180000);
    const logs = await b.client.getLogs(run.id);
    const out = logs.lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
    assert.equal(run.status, 'Succeeded', `${run.reason}\n${logs.lines.map((l) => l.text).join('\n')}`);
    assert.ok(out.some((l) => /^starting with \{'steps': 3\} in \/app$/.test(l)), out.join('\n'));
    assert.deepEqual((await b.client.getMetrics(run.id)).series[0].points.map((p) => p.step), [1, 2, 3]);
  });
});
