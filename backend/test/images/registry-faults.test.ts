/**
 * Save Model into a registry through a fault-injecting proxy (429s, 500s,
 * connections dropped mid-upload): the save still ends with a complete image
 * (skopeo copies it, verifying every blob), and when the faults do not stop,
 * the save fails with no version recorded and no tag in the registry.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { startRegistry, type RegistryHandle } from '../../../test/components/registry';
import { openImageStore } from '../../src/images/open';
import { RegistryStore } from '../../src/images/registry-store';
import { RegistryClient } from '../../src/images/registry/client';
import { parseRegistryUrl } from '../../src/images/registry/reference';
import { getVersion } from '../../src/models/store';
import { harness, type Harness } from '../snapshots/helpers';
import { startFaultProxy, type FaultProxy, type FaultRule } from './fault-proxy';
import { run, tempDir } from './helpers';

function workspace(dir: string, bigKiB: number): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train.py'), 'print("hi")\n');
  writeFileSync(join(dir, 'weights.bin'), randomBytes(bigKiB * 1024));
  return dir;
}

describe('saving into a registry through faults', function () {
  this.timeout(180_000);
  let reg: RegistryHandle;
  let proxy: FaultProxy | null = null;
  let h: Harness | null = null;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    reg = await startRegistry();
    tmp = tempDir('faults');
  });
  afterEach(async () => {
    await h?.close();
    await proxy?.close();
    h = null;
    proxy = null;
  });
  after(async () => {
    await reg?.stop();
    tmp?.cleanup();
  });

  const open = async (rules: FaultRule[], client: Record<string, number>) => {
    proxy = await startFaultProxy(reg, rules);
    const url = `${proxy.url}/team`;
    h = await harness('sqlite', 64 * 1024 * 1024, { images: (dir) => openImageStore(url, { cacheDir: join(dir, 'cache'), client: { chunkThreshold: 1024 * 1024, chunkSize: 400 * 1024, backoffMs: 20, ...client } }) });
    return h;
  };

  it('retries 429/500, resumes or restarts dropped uploads, and ends with a complete image', async () => {
    const rules: FaultRule[] = [
      { method: 'HEAD', path: /^\/v2\/team\/flaky\/blobs\//, action: '429', times: 1 },
      { method: 'POST', path: /^\/v2\/team\/flaky\/blobs\/uploads\/$/, action: '500', times: 1 },
      { method: 'PATCH', path: /^\/v2\/team\/flaky\/blobs\/uploads\//, action: 'drop', times: 1, after: 1 },
      { method: 'PUT', path: /^\/v2\/team\/flaky\/blobs\/uploads\//, action: 'drop', times: 1 },
      { method: 'PUT', path: /^\/v2\/team\/flaky\/manifests\//, action: '500', times: 1 },
    ];
    const hh = await open(rules, {});
    const saved = await saveWorkspace(hh.client, { dir: workspace(join(tmp.dir, 'ws1'), 2500), model: 'flaky', version: 'v1+dirty.1' });
    for (const r of rules) assert.equal(r.fired, r.times + (r.after ?? 0), `rule ${r.method} ${r.path} fired ${r.fired ?? 0} times; log: ${proxy!.log.join(', ')}`);
    const store = hh.ctx.images as RegistryStore;
    assert.ok(store.client.http.stats.retries >= 3, JSON.stringify(store.client.http.stats));
    assert.ok(store.client.stats.resumed + store.client.stats.restarted >= 2, JSON.stringify(store.client.stats));
    assert.equal(saved.version.imageRef, `${proxy!.host}/team/flaky:v1_dirty.1`);

    // straight from the registry (no proxy): skopeo copies every blob, verifying digests
    const out = join(tmp.dir, 'copy1');
    const copy = await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/team/flaky:v1_dirty.1`, `oci:${out}:x`]);
    assert.equal(copy.code, 0, copy.stderr);
    const inspect = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/flaky:v1_dirty.1`]);
    const info = JSON.parse(inspect.stdout) as { Digest: string; Layers: string[] };
    assert.equal(info.Digest, saved.version.digest);
    assert.equal(info.Layers.length, 1);
  });

  it('records no version when the manifest cannot be put, and leaves no tag', async () => {
    const rules: FaultRule[] = [{ method: 'PUT', path: /^\/v2\/team\/doomed\/manifests\//, action: '500', times: 1000 }];
    const hh = await open(rules, { retries: 2 });
    await assert.rejects(saveWorkspace(hh.client, { dir: workspace(join(tmp.dir, 'ws2'), 64), model: 'doomed', version: 'v1' }), /answered 500/);
    assert.equal(await getVersion(hh.ctx.db, 'doomed', 'v1'), null);
    const snap = await hh.ctx.db.selectFrom('snapshots').selectAll().where('model', '=', 'doomed').executeTakeFirstOrThrow();
    assert.equal(snap.status, 'failed');
    assert.equal(await new RegistryClient(parseRegistryUrl(reg.url)).getManifest('team/doomed', 'v1'), null);
  });

  it('records no version when a layer upload keeps dropping, and puts no manifest', async () => {
    const rules: FaultRule[] = [
      { method: 'PATCH', path: /^\/v2\/team\/cut\/blobs\/uploads\//, action: 'drop', times: 1000 },
      { method: 'PUT', path: /^\/v2\/team\/cut\/blobs\/uploads\//, action: 'drop', times: 1000 },
    ];
    const hh = await open(rules, { retries: 1, blobAttempts: 2 });
    await assert.rejects(saveWorkspace(hh.client, { dir: workspace(join(tmp.dir, 'ws3'), 1500), model: 'cut', version: 'v1' }), /building the image failed/);
    assert.equal(await getVersion(hh.ctx.db, 'cut', 'v1'), null);
    assert.ok(!proxy!.log.some((l) => l.startsWith('PUT /v2/team/cut/manifests/')), 'no manifest PUT was attempted');
    assert.equal(await new RegistryClient(parseRegistryUrl(reg.url)).getManifest('team/cut', 'v1'), null);
  });
});
