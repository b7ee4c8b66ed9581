/**
 * RegistryStore.pushFile (how a run's output files reach a registry): a file is pushed from where
 * it is, in one streamed PUT above the chunk threshold, through a fault-injecting proxy (a
 * connection dropped mid-stream, a 500, a 429): it ends complete in the repository, verified by the
 * registry, never copied into the store's cache; pushed again it costs no request.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, type RegistryHandle } from '../../../test/components/registry';
import { RegistryStore } from '../../src/images/registry-store';
import { parseRegistryUrl } from '../../src/images/registry/reference';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { tempDir } from './helpers';

describe('RegistryStore.pushFile through faults', function () {
  this.timeout(120_000);
  let reg: RegistryHandle;
  let proxy: FaultProxy;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    reg = await startRegistry();
    tmp = tempDir('push-file');
  });
  after(async () => {
    await proxy?.close();
    await reg?.stop();
    tmp?.cleanup();
  });

  it('streams a file in one PUT, restarts it after a drop, a 500 and a 429, and ends with the verified blob', async () => {
    const bytes = randomBytes(3 << 20);
    const file = join(tmp.dir, 'model.bin');
    writeFileSync(file, bytes);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const put = /^\/v2\/team\/outputs\/blobs\/uploads\/.+/;
    proxy = await startFaultProxy(reg, [
      { method: 'PUT', path: put, action: 'drop', times: 1 },
      { method: 'PUT', path: put, action: '500', times: 1 },
      { method: 'PUT', path: put, action: '429', times: 1 },
    ]);
    const store = new RegistryStore(parseRegistryUrl(`${proxy.url}/team`), join(tmp.dir, 'cache'), { chunkThreshold: 1 << 20, backoffMs: 20 });
    assert.equal(await store.pushFile('outputs', { digest, size: bytes.length }, file), 'uploaded');
    assert.equal(proxy.log.filter((l) => l.startsWith('PUT ')).length, 4, proxy.log.join('\n'));
    assert.ok(!proxy.log.some((l) => l.startsWith('PATCH ')), 'one streamed PUT per attempt, no chunks');
    assert.equal(await store.cache.hasBlob(digest), false, 'not copied into the cache');

    // the registry holds exactly the file's bytes under its digest
    const h = createHash('sha256');
    let size = 0;
    for await (const c of await store.client.openBlob('team/outputs', digest)) {
      h.update(c as Buffer);
      size += (c as Buffer).length;
    }
    assert.equal(`sha256:${h.digest('hex')}`, digest);
    assert.equal(size, bytes.length);

    // known to be there: no request at all
    const seen = proxy.log.length;
    assert.equal(await store.pushFile('outputs', { digest, size: bytes.length }, file), 'present');
    assert.equal(proxy.log.length, seen);
  });

  it('a file that does not hash to the digest is refused by the registry and nothing is stored under it', async () => {
    const file = join(tmp.dir, 'liar.bin');
    writeFileSync(file, randomBytes(2 << 20));
    const digest = `sha256:${createHash('sha256').update('something else').digest('hex')}`;
    const store = new RegistryStore(parseRegistryUrl(`${reg.url}/team`), join(tmp.dir, 'cache2'), { chunkThreshold: 1 << 20, backoffMs: 20, blobAttempts: 2 });
    await assert.rejects(store.pushFile('outputs', { digest, size: 2 << 20 }, file), /DIGEST_INVALID|digest/i);
    assert.equal(await store.client.hasBlob('team/outputs', digest), false);
  });
});
