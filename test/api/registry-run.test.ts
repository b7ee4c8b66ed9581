/**
 * images.registry pointing at a real registry: a version saved on a base image in
 * that registry runs through the executor's podman path (pulled by digest).
 */
import assert from 'node:assert/strict';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ensureBaseImage } from '../components/base-image';
import { startRegistry, type RegistryHandle } from '../components/registry';
import { run } from '../../backend/test/images/helpers';
import { COUNTER, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';

describe('local executor: a version stored in a registry', function () {
  this.timeout(10 * 60_000);
  let reg: RegistryHandle;
  let b: TestBackend;
  before(async () => {
    reg = await startRegistry();
    const baseDir = await ensureBaseImage();
    const cp = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${baseDir}:latest`, `docker://${reg.host}/team/debian-python3:latest`]);
    assert.equal(cp.code, 0, cp.stderr);
    b = await startTestBackend({ images: { registry: `${reg.url}/team` }, executor: { local: { podman: 'always' } } });
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
    await reg?.stop();
  });

  it('pulls the version by digest and runs train in podman', async () => {
    const saved = await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'r1+dirty.ab12', baseImage: `${reg.host}/team/debian-python3:latest` });
    assert.equal(saved.version.imageRef, `${reg.host}/team/counter:r1_dirty.ab12`);
    const res = await b.client.launch({ model: 'counter', params: { steps: 2 } });
    const [r] = await waitForRuns(b.client, [res.runs[0].id], 180000);
    const logs = (await b.client.getLogs(r.id)).lines.map((l) => l.text);
    assert.equal(r.status, 'Succeeded', `${r.reason}\n${logs.join('\n')}`);
    assert.ok(logs.some((l) => /in \/app$/.test(l)), logs.join('\n'));
  });
});
