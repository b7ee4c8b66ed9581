/**
 * Artifacts when things go wrong: a registry answering 500 and 429 during the push, and the
 * backend SIGKILLed while it keeps a run's outputs. Afterwards the artifacts are complete (every
 * blob verified by skopeo, every file by its sha256) or absent, never partial. A 1 GiB output
 * passes through with bounded backend memory (its peak RSS is printed).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { TrainyardClient } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../../backend/test/images/fault-proxy';
import { startRegistry, type RegistryHandle } from '../components/registry';
import { freePort, REPO, removeHome, sleep, spawnBackend, startTestBackend, waitForRuns } from '../helpers/backend';

const OUTPUTS = join(REPO, 'test/fixtures/outputs');
const run = promisify(execFile);

/** sha256 of the fixture's big.bin of n MiB: bytes 0..255 repeated */
function bigSha(mib: number): string {
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = i % 256;
  const h = createHash('sha256');
  for (let i = 0; i < mib; i++) h.update(block);
  return h.digest('hex');
}

/** peak resident memory of a process (VmHWM), in MiB */
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

describe('artifacts through faults', function () {
  this.timeout(300_000);

  describe('a registry answering 500 and 429 during the push', () => {
    let reg: RegistryHandle;
    let proxy: FaultProxy;
    before(async () => {
      reg = await startRegistry();
    });
    after(async () => {
      await proxy?.close();
      await reg?.stop();
    });

    it('retries and ends with a complete artifact that skopeo copies, verifying every blob', async () => {
      const rules: FaultRule[] = [
        { method: 'POST', path: /^\/v2\/team\/outputs\/blobs\/uploads\/$/, action: '500', times: 1, after: 3 },
        { method: 'HEAD', path: /^\/v2\/team\/outputs\/blobs\//, action: '429', times: 2, after: 3 },
        { method: 'PUT', path: /^\/v2\/team\/outputs\/manifests\/run-/, action: '500', times: 1 },
      ];
      proxy = await startFaultProxy(reg, rules);
      const b = await startTestBackend({ images: { registry: `${proxy.url}/team` } });
      try {
        await saveWorkspace(b.client, { dir: OUTPUTS, model: 'outputs', version: 'v1', cacheDir: false });
        const [r] = await waitForRuns(b.client, [(await b.client.launch({ model: 'outputs', params: { files: 3, same: true } })).runs[0].id], 120_000);
        assert.equal(r.status, 'Succeeded', r.reason ?? '');
        for (const rule of rules) assert.ok((rule.fired ?? 0) > (rule.after ?? 0), `rule ${rule.method} ${rule.path} never fired; log: ${proxy.log.join(', ')}`);
        const list = await b.client.listArtifacts(r.id);
        assert.equal(list.state, 'stored', list.note ?? '');
        assert.equal(list.files.length, 4);
        const out = mkdtempSync(join(tmpdir(), 'ty-artifact-copy-'));
        try {
          await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/team/outputs:run-${r.id}`, `oci:${out}:x`]);
          for (const f of list.files) assert.ok(existsSync(join(out, 'blobs', 'sha256', f.sha256)), `${f.path} was copied`);
        } finally {
          removeHome(out);
        }
      } finally {
        await b.close();
        removeHome(b.home);
      }
    });
  });

  it('SIGKILLed while keeping a run\'s outputs: absent, never partial; the next start keeps them whole; a 1 GiB output in bounded memory', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ty-artifact-kill-'));
    const port = await freePort();
    let { child } = await spawnBackend(home, port, {});
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    const client = new TrainyardClient({ baseUrl: `http://127.0.0.1:${port}`, token });
    try {
      await saveWorkspace(client, { dir: OUTPUTS, model: 'outputs', version: 'v1', cacheDir: false });
      const mib = 1024;
      const idle = peakRssMiB(child.pid!);
      const id = (await client.launch({ model: 'outputs', params: { big_mb: mib, files: 2 } })).runs[0].id;
      // the moment the backend is writing the big blob into the image store: kill it there
      const tmp = join(home, 'images', '.trainyard-tmp');
      const deadline = Date.now() + 240_000;
      while (!(existsSync(tmp) && readdirSync(tmp).length > 0)) {
        if (Date.now() > deadline) throw new Error('the backend never started writing the artifact blob');
        await sleep(5);
      }
      const peak = peakRssMiB(child.pid!);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      console.log(`      backend peak RSS: ${idle} MiB before the run, ${peak} MiB while keeping a ${mib} MiB output`);
      assert.ok(peak < 512, `peak RSS ${peak} MiB: the output is streamed, not buffered`);

      // straight from the store: nothing recorded for the run, or all of it
      const db = new DatabaseSync(join(home, 'trainyard.db'), { readOnly: true });
      const row = db.prepare('SELECT state FROM run_outputs WHERE run_id = ?').get(id) as { state: string } | undefined;
      const files = db.prepare('SELECT path FROM run_artifacts WHERE run_id = ?').all(id);
      const status = (db.prepare('SELECT status FROM runs WHERE id = ?').get(id) as { status: string }).status;
      db.close();
      assert.ok(!row || (row.state === 'stored' && files.length === 3), `partial: ${JSON.stringify({ row, files })}`);
      assert.ok(!row, 'killed mid-blob: nothing recorded yet');
      assert.equal(status, 'Running', 'the run is final only once its outputs are kept');

      // the next start re-attaches, keeps the outputs whole, then reports the run
      ({ child } = await spawnBackend(home, port, {}));
      const [r] = await waitForRuns(client, [id], 240_000);
      assert.equal(r.status, 'Succeeded', r.reason ?? '');
      const list = await client.listArtifacts(id);
      assert.deepEqual(list.files.map((f) => f.path), ['big.bin', 'parts/part-0000.txt', 'parts/part-0001.txt']);
      const big = list.files[0];
      assert.equal(big.size, mib << 20);
      assert.equal(big.sha256, bigSha(mib));
      assert.ok(existsSync(join(home, 'images', 'blobs', 'sha256', big.sha256)));
      const ranged = await client.downloadArtifact(id, 'big.bin', { range: { start: (mib << 20) - 256 } });
      assert.deepEqual([...new Uint8Array(await ranged.arrayBuffer())].slice(0, 4), [0, 1, 2, 3]);
    } finally {
      child.kill('SIGKILL');
      removeHome(home);
    }
  });
});
