// The backend process SIGKILLed in the middle of a 200-run sweep on the kubernetes executor, then
// started again: every run ends in exactly one final state, none is lost or duplicated, and the
// sweep is still one Indexed Job.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainyardClient } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ensureBaseImage } from '../components/base-image';
import { COUNTER, freePort, removeHome, sleep, spawnBackend, waitForRuns } from '../helpers/backend';
import { startCluster, type Cluster } from './cluster';

describe('the backend SIGKILLed mid-sweep on the kubernetes executor (real control plane)', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  before(async function () {
    this.timeout(3 * 60 * 60 * 1000); // a fresh machine builds the rig's binaries first
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('re-attaches after a restart: 200 runs, each Succeeded once, one Job', async () => {
    const ns = await cluster.namespace('tyk');
    await cluster.applyDeploy(ns, ['serviceaccount.yaml', 'role.yaml', 'clusterrole.yaml']);
    const kubeconfig = await cluster.serviceAccountKubeconfig(ns);
    const config = { executor: { kind: 'kubernetes', kubernetes: { kubeconfig, namespace: ns } } };
    const home = mkdtempSync(join(tmpdir(), 'ty-k8s-crash-'));
    const port = await freePort();
    let { child, url } = await spawnBackend(home, port, config);
    try {
      const token = (await import('node:fs')).readFileSync(join(home, 'token'), 'utf8').trim();
      const client = new TrainyardClient({ baseUrl: url, token });
      await saveWorkspace(client, { dir: COUNTER, model: 'counter', version: 'v1', baseImage: `oci-layout:${await ensureBaseImage()}:latest`, cacheDir: false });
      const res = await client.launch({ model: 'counter', sweep: { i: Array.from({ length: 200 }, (_, i) => i) }, parallelism: 16 });
      const ids = res.runs.map((r) => r.id);
      // kill it once some runs are done and others are running
      for (let done = 0; done < 20; await sleep(250)) {
        done = (await client.listRuns({ sweep: res.sweep!.id, status: 'Succeeded', limit: 1000 })).items.length;
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await sleep(2000); // pods go on finishing while the backend is down
      ({ child, url } = await spawnBackend(home, port, config));

      const runs = await waitForRuns(client, ids, 240_000);
      assert.deepEqual([...new Set(runs.map((r) => r.status))], ['Succeeded'], runs.filter((r) => r.status !== 'Succeeded').map((r) => `${r.id} ${r.status} ${r.reason}`).slice(0, 5).join('; '));
      const listed = (await client.listRuns({ sweep: res.sweep!.id, limit: 1000 })).items;
      assert.equal(listed.length, 200, 'no run lost or duplicated');
      assert.equal(new Set(listed.map((r) => r.id)).size, 200);
      assert.equal((await client.listRuns({ limit: 1000 })).items.length, 200, 'nothing launched twice');
      const jobs = await cluster.admin.batch.listNamespacedJob({ namespace: ns, labelSelector: `trainyard.dev/sweep-id=${res.sweep!.id}` });
      assert.equal(jobs.items.length, 1, 'still one Indexed Job');
      const metrics = await client.getMetrics(ids[0]);
      assert.ok(metrics.series.length > 0, 'logs were archived and parsed');
    } finally {
      child.kill('SIGKILL');
      removeHome(home);
    }
  });
});
