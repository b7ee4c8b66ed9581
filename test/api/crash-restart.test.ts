/**
 * A backend killed with SIGKILL while runs execute comes back and reconciles:
 * live runs are re-attached, none is lost or duplicated, logs written so far remain
 * and the rest arrive exactly once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainyardClient } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { readToken } from '../../backend/src/auth/token';
import { COUNTER, freePort, removeHome, sleep, spawnBackend, waitForRuns } from '../helpers/backend';

describe('backend killed with SIGKILL mid-run', () => {
  it('re-attaches to live runs and finishes them with complete logs', async function () {
    this.timeout(180000);
    const home = mkdtempSync(join(tmpdir(), 'ty-crash-'));
    const port = await freePort();
    let { child, url } = await spawnBackend(home, port);
    try {
      const client = new TrainyardClient({ baseUrl: url, token: readTokenIn(home) });
      await saveWorkspace(client, { dir: COUNTER, model: 'counter', version: 'v1' });
      const res = await client.launch({ model: 'counter', params: { steps: 30, sleep: 0.2 }, sweep: { seed: [1, 2, 3] } });
      const ids = res.runs.map((r) => r.id);
      // two run (2 local slots on this machine at least), the third may queue
      await waitForRuns(client, ids.slice(0, 2), 30000, (r) => r.status === 'Running');
      await sleep(1500);
      const before = await client.getLogs(ids[0]);
      assert.ok(before.lines.length > 0, 'some logs were archived before the crash');

      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await sleep(1000); // runs keep going while the backend is down

      ({ child, url } = await spawnBackend(home, port));
      const done = await waitForRuns(client, ids, 90000);
      for (const run of done) assert.equal(run.status, 'Succeeded', `${run.id}: ${run.reason}`);
      assert.equal((await client.listRuns({ limit: 1000 })).items.length, 3, 'no run lost or duplicated');
      for (const id of ids) {
        const logs = await client.getLogs(id);
        const steps = logs.lines.filter((l) => l.stream === 'stdout' && /^step \d+\/30$/.test(l.text)).map((l) => l.text);
        assert.deepEqual(steps, Array.from({ length: 30 }, (_, i) => `step ${i + 1}/30`), `${id}: every step line exactly once, in order`);
        const metrics = await client.getMetrics(id);
        assert.equal(metrics.series[0].points.length, 30, `${id}: every metric exactly once`);
      }
      for (const line of before.lines) {
        const now = await client.getLogs(ids[0], { after: line.seq - 1, limit: 1 });
        assert.equal(now.lines[0].text, line.text, 'logs written before the crash remain');
      }
    } finally {
      child.kill('SIGKILL');
      removeHome(home);
    }
  });
});

function readTokenIn(home: string): string {
  const prev = process.env.TRAINYARD_TOKEN;
  delete process.env.TRAINYARD_TOKEN;
  try {
    return readToken(home)!;
  } finally {
    if (prev !== undefined) process.env.TRAINYARD_TOKEN = prev;
  }
}
