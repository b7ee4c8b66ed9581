/**
 * writeCodeLayer (images/code-layer.ts): a write of the same entries under way, or done in the
 * last minute, is taken instead of writing again; one that failed is not; entries whose bytes are
 * not named by sha256 are always written. Counted through the store: each layer written asks it
 * for a staging dir once.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { codeLayerEntries, writeCodeLayer, type CodeFile } from '../../src/images/code-layer';
import { OciLayoutStore } from '../../src/images/oci-layout';
import { sha256Hex } from '@trainyard/shared/sha256';
import { tempDir } from './helpers';

class CountingStore extends OciLayoutStore {
  written = 0;
  override stagingDir(): Promise<string> {
    this.written++;
    return super.stagingDir();
  }
}

describe('writeCodeLayer', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: CountingStore;
  const file = (name: string, text: string, sha = sha256Hex(Buffer.from(text))): CodeFile => {
    writeFileSync(join(tmp.dir, name), text);
    return { path: name, mode: 0o644, file: join(tmp.dir, name), sha256: sha };
  };
  beforeEach(() => {
    tmp = tempDir('code-layer');
    store = new CountingStore(join(tmp.dir, 'store'));
  });
  afterEach(() => tmp.cleanup());

  it('takes a write of the same entries that is under way, and one done moments before', async () => {
    const entries = await codeLayerEntries([file('train.py', 'print(1)\n')], 'usr/bin/python3');
    const [a, b] = await Promise.all([writeCodeLayer(store, entries), writeCodeLayer(store, await codeLayerEntries([file('train.py', 'print(1)\n')], 'usr/bin/python3'))]);
    assert.deepEqual(a, b);
    assert.equal(store.written, 1);
    assert.deepEqual(await writeCodeLayer(store, entries), a);
    assert.equal(store.written, 1, 'done moments before: taken');
  });

  it('writes again for other entries: another interpreter, other bytes, another mode, another compression', async () => {
    const f = file('train.py', 'print(1)\n');
    const first = await writeCodeLayer(store, await codeLayerEntries([f], 'usr/bin/python3'));
    const others = [
      await writeCodeLayer(store, await codeLayerEntries([f], 'usr/local/bin/python3')),
      await writeCodeLayer(store, await codeLayerEntries([{ ...file('two.py', 'print(2)\n'), path: 'train.py' }], 'usr/bin/python3')),
      await writeCodeLayer(store, await codeLayerEntries([{ ...f, mode: 0o755 }], 'usr/bin/python3')),
      await writeCodeLayer(store, await codeLayerEntries([f], 'usr/bin/python3'), { compression: { algorithm: 'gzip', level: 1 } }),
    ];
    assert.equal(store.written, 5);
    assert.equal(new Set([first, ...others].map((l) => l.digest)).size, 5);
  });

  it('does not take a write that failed, nor one whose blob the store no longer has', async () => {
    // bytes no other test writes: a group of entries written before is taken from codeGroups, its files unread
    const good = file('train.py', 'print("the write that failed")\n');
    const changed = { ...good, file: join(tmp.dir, 'other.py') };
    writeFileSync(changed.file, 'print(666)\n'); // not the bytes of good.sha256
    await assert.rejects(writeCodeLayer(store, await codeLayerEntries([changed], 'usr/bin/python3')), /changed while saving/);
    const layer = await writeCodeLayer(store, await codeLayerEntries([good], 'usr/bin/python3'));
    assert.equal(store.written, 2, 'the failed write was not taken');
    await rm(join(tmp.dir, 'store', 'blobs', 'sha256', layer.digest.slice('sha256:'.length)));
    assert.deepEqual(await writeCodeLayer(store, await codeLayerEntries([good], 'usr/bin/python3')), layer);
    assert.equal(store.written, 3, 'the blob was gone: written again');
    assert.ok(await store.hasBlob(layer.digest));
  });

  it('always writes entries whose bytes are not named by sha256', async () => {
    const f = file('train.py', 'print(1)\n');
    const unnamed: CodeFile = { path: f.path, mode: f.mode, file: f.file };
    const entries = await codeLayerEntries([unnamed], 'usr/bin/python3');
    await Promise.all([writeCodeLayer(store, entries), writeCodeLayer(store, entries)]);
    assert.equal(store.written, 2);
  });
});
