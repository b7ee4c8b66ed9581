/**
 * A run pushing its own outputs (the finish step a Kubernetes pod runs): the in-image
 * `trainyard` Python module against a real backend, with a real run token. What is pushed
 * is what the backend keeps, within its limits; a run token works for its own run only.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { issueRunToken, issueScheduleToken } from '../../backend/src/auth/run-tokens';
import { freePort, REPO, removeHome, spawnBackend, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';
import { connect } from '../../backend/src/store/db';
import { TrainyardClient } from '@trainyard/shared';
import { insertLaunch, pendingRunRow } from '../../backend/src/runs/store';
import { newId } from '../../backend/src/ids';
import { DEFAULT_HARDWARE } from '../../backend/src/config';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';

const PYTHON_DIR = join(REPO, 'python');
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

describe('a run pushes its own outputs (the finish step of a pod)', () => {
  let b: TestBackend;
  let dir: string;
  before(async () => {
    b = await startTestBackend({ artifacts: { maxFiles: 5 } });
    await saveWorkspace(b.client, { dir: join(REPO, 'test/fixtures/outputs'), model: 'outputs', version: 'v1', cacheDir: false });
    dir = mkdtempSync(join(tmpdir(), 'ty-push-'));
  });
  after(async () => {
    await b?.close();
    if (b) removeHome(b.home);
    if (dir) removeHome(dir);
  });

  // a Running run recorded as the Kubernetes executor records one (its pod is what pushes), so
  // that the local executor does not keep its outputs by itself
  const newRun = async (inputRunId: string | null = null, scheduleId: string | null = null) => {
    const id = newId('run');
    const profile = DEFAULT_HARDWARE[0];
    const row = pendingRunRow({
      id, model: 'outputs', version: 'v1', entrypoint: 'train', command: 'python train.py', params: {}, profile, maxDurationSeconds: 600,
      sweepId: null, sweepIndex: null, scheduleId, reason: 'pushed by test', executor: 'kubernetes', executorRef: null,
      createdBy: 'tester', createdAt: new Date().toISOString(), estimatedCost: 0, inputRunId,
    });
    assert.ok(await insertLaunch(b.server.ctx.db, { key: null, hash: 'test', sweep: null, rows: [{ ...row, status: 'Running' }] }));
    return id;
  };
  const push = async (runId: string, token: string, outputDir: string) => {
    const env = { PATH: process.env.PATH, PYTHONPATH: PYTHON_DIR, TRAINYARD_BACKEND_URL: b.url, TRAINYARD_RUN_TOKEN: token, TRAINYARD_RUN_ID: runId, TRAINYARD_OUTPUT_DIR: outputDir };
    try {
      const { stderr } = await promisify(execFile)('python3', ['-c', 'import trainyard, sys; sys.exit(trainyard.push_outputs_main())'], { env });
      return { code: 0, stderr };
    } catch (err) {
      const e = err as { code: number; stderr: string };
      return { code: e.code, stderr: e.stderr };
    }
  };
  const as = (token: string, path: string, init: RequestInit = {}) => fetch(`${b.url}${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });

  it('pushes the files with its run token; the backend keeps what fits its limits and names the rest; equal blobs are not sent twice', async () => {
    const out = join(dir, 'a');
    mkdirSync(join(out, 'nested'), { recursive: true });
    for (let i = 0; i < 6; i++) writeFileSync(join(out, 'nested', `f${i}.txt`), `file ${i}\n`);
    writeFileSync(join(out, 'model.json'), '{"w": [1, 2, 3]}\n');
    symlinkSync('/etc/hostname', join(out, 'escape'));
    const id = await newRun();
    const token = await issueRunToken(b.server.ctx.db, id);
    const first = await push(id, token, out);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /finish: kept 5 output files \(\d+ bytes, uploaded 5\); artifacts: dropped escape: a symlink leading out of the output directory .*2 file\(s\) past the limit of 5 files per run/);
    const list = await b.client.listArtifacts(id);
    assert.equal(list.state, 'stored');
    assert.deepEqual(list.files.map((f) => f.path), ['model.json', 'nested/f0.txt', 'nested/f1.txt', 'nested/f2.txt', 'nested/f3.txt']);
    assert.equal(list.files[0].sha256, sha('{"w": [1, 2, 3]}\n'));
    assert.equal(await (await b.client.downloadArtifact(id, 'nested/f2.txt')).text(), 'file 2\n');

    // a second run with the same files: the backend already holds every blob, so only the report travels
    const again = await newRun();
    const second = await push(again, await issueRunToken(b.server.ctx.db, again), out);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual((await b.client.listArtifacts(again)).files.map((f) => f.sha256), list.files.map((f) => f.sha256));
    assert.equal(second.stderr.match(/uploaded \d+/)?.[0], 'uploaded 0', second.stderr);
  });

  it("a run token works only for its own run's artifacts: another run, cancel and other routes are refused", async () => {
    const a = await newRun();
    const other = await newRun();
    const token = await issueRunToken(b.server.ctx.db, a);
    const body = JSON.stringify({ files: [] });
    const json = { 'Content-Type': 'application/json' };
    assert.equal((await as(token, `/v1/runs/${other}/artifacts`, { method: 'POST', body, headers: json })).status, 403);
    assert.equal((await as(token, `/v1/runs/${other}/artifact-blobs/${sha('x')}`, { method: 'PUT', body: 'x', headers: { 'Content-Type': 'application/octet-stream' } })).status, 403);
    assert.equal((await as(token, `/v1/runs/${a}/cancel`, { method: 'POST', body: '{}', headers: json })).status, 403);
    assert.equal((await as(token, '/v1/runs')).status, 403);
    assert.equal((await as(token, '/v1/models')).status, 403);
    // its own run: allowed
    assert.equal((await as(token, `/v1/runs/${a}/artifacts`, { method: 'POST', body, headers: json })).status, 200);
  });

  it("a schedule's token (its CronJob's fires) pushes for the runs recorded as its fires only; an unrecorded fire is told to retry; deleting the schedule revokes it", async () => {
    const schedule = (await b.client.launch({ model: 'outputs', version: 'v1', schedule: '0 3 * * *' })).schedule!.id;
    const other = (await b.client.launch({ model: 'outputs', version: 'v1', schedule: '0 4 * * *' })).schedule!.id;
    const fire = await newRun(null, schedule);
    const foreign = await newRun(null, other);
    const plain = await newRun();
    const { secret: token } = await issueScheduleToken(b.server.ctx.db, schedule);
    const out = join(dir, 'fire');
    mkdirSync(out);
    writeFileSync(join(out, 'model.txt'), `fire ${fire}\n`);
    const pushed = await push(fire, token, out);
    assert.equal(pushed.code, 0, pushed.stderr);
    const list = await b.client.listArtifacts(fire);
    assert.equal(list.state, 'stored');
    assert.deepEqual(list.files.map((f) => f.path), ['model.txt']);

    const body = JSON.stringify({ files: [] });
    const json = { 'Content-Type': 'application/json' };
    for (const id of [foreign, plain]) {
      const res = await as(token, `/v1/runs/${id}/artifacts`, { method: 'POST', body, headers: json });
      assert.equal(res.status, 403, `${id}: ${await res.clone().text()}`);
      assert.match((await res.json()).error.message, new RegExp(`belongs to schedule ${schedule}`));
    }
    // the id a fire's pod derives from its Job's uid, before the backend has recorded that Job
    const unseen = `run_${'ab'.repeat(16)}`;
    const early = await as(token, `/v1/runs/${unseen}/artifacts`, { method: 'POST', body, headers: json });
    assert.equal(early.status, 503);
    assert.match((await early.json()).error.message, /not recorded yet.*retry/);
    assert.equal((await as(token, '/v1/runs')).status, 403);
    assert.equal((await as(token, `/v1/runs/${fire}/cancel`, { method: 'POST', body: '{}', headers: json })).status, 403);

    await b.client.deleteSchedule(schedule);
    const after = await as(token, `/v1/runs/${fire}/artifacts`, { method: 'POST', body, headers: json });
    assert.equal(after.status, 401);
    assert.match((await after.json()).error.message, /revoked/);
    await b.client.deleteSchedule(other);
  });

  it('refuses a wrong sha256, an escaping or doubled path, too many files and an unlisted blob, storing nothing', async () => {
    const id = await newRun();
    const token = await issueRunToken(b.server.ctx.db, id);
    const wrong = await as(token, `/v1/runs/${id}/artifact-blobs/${sha('expected')}`, { method: 'PUT', body: 'something else', headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(wrong.status, 400, await wrong.clone().text());
    assert.match((await wrong.json()).error.message, /do not hash to sha256/);
    assert.equal(await b.server.ctx.images.hasBlob(`sha256:${sha('expected')}`), false);
    assert.equal(await b.server.ctx.images.hasBlob(`sha256:${sha('something else')}`), false);

    const post = (files: unknown[]) => as(token, `/v1/runs/${id}/artifacts`, { method: 'POST', body: JSON.stringify({ files }), headers: { 'Content-Type': 'application/json' } });
    for (const path of ['../etc/passwd', '/abs', 'a//b', 'a/./b']) {
      const res = await post([{ path, size: 1, sha256: sha('x') }]);
      assert.equal(res.status, 400, `${path}: ${await res.text()}`);
    }
    const twice = await post([{ path: 'a', size: 1, sha256: sha('x') }, { path: 'a', size: 1, sha256: sha('x') }]);
    assert.equal(twice.status, 400);
    const tooMany = await post(Array.from({ length: 100_001 }, (_, i) => ({ path: `f${i}`, size: 1, sha256: sha('x') })));
    assert.equal(tooMany.status, 400);
    assert.match((await tooMany.json()).error.message, /files.*100000/);
    const missing = await post([{ path: 'never-uploaded.bin', size: 3, sha256: sha('abc-never') }]);
    assert.equal(missing.status, 409);
    assert.deepEqual((await missing.json()).error.details.missing, [sha('abc-never')]);
    assert.equal((await b.client.listArtifacts(id)).files.length, 0, 'nothing was recorded');
  });

  it("fetches a training run's artifacts for a run launched with fromRun (the init container's step): verified, read-only; the token reads only that run", async () => {
    const out = join(dir, 'trained');
    mkdirSync(join(out, 'weights'), { recursive: true });
    writeFileSync(join(out, 'model.json'), '{"bias": 1}\n');
    writeFileSync(join(out, 'weights', 'layer 1.bin'), Buffer.alloc(70_000, 7));
    const trained = await newRun();
    assert.equal((await push(trained, await issueRunToken(b.server.ctx.db, trained), out)).code, 0);
    const predict = await newRun(trained);
    const token = await issueRunToken(b.server.ctx.db, predict);
    const into = join(dir, 'inputs');
    const env = { PATH: process.env.PATH, PYTHONPATH: PYTHON_DIR, TRAINYARD_BACKEND_URL: b.url, TRAINYARD_RUN_TOKEN: token, TRAINYARD_INPUT_RUN_ID: trained, TRAINYARD_INPUT_DIR: into };
    const { stderr } = await promisify(execFile)('python3', ['-c', 'import trainyard, sys; sys.exit(trainyard.fetch_inputs_main())'], { env });
    assert.match(stderr, new RegExp(`trainyard inputs: 2 files \\(70012 bytes\\) of run ${trained}`));
    assert.equal(readFileSync(join(into, 'model.json'), 'utf8'), '{"bias": 1}\n');
    assert.equal(readFileSync(join(into, 'weights', 'layer 1.bin')).length, 70_000);
    assert.equal(statSync(join(into, 'model.json')).mode & 0o777, 0o444);
    assert.equal(statSync(join(into, 'weights')).mode & 0o777, 0o555);
    chmodSync(join(into, 'weights'), 0o755); // so that after() can remove it

    // the predict run's token reads its input run, and no other run's artifacts
    const other = await newRun();
    assert.equal((await as(token, `/v1/runs/${trained}/artifacts`)).status, 200);
    assert.equal((await as(token, `/v1/runs/${other}/artifacts`)).status, 403);
    assert.equal((await as(token, `/v1/runs/${trained}/artifacts`, { method: 'POST', body: '{"files":[]}', headers: { 'Content-Type': 'application/json' } })).status, 403, 'reading is all it may do there');
  });

  it('the backend SIGKILLed while receiving a pushed blob, and started again: the push retries and the artifacts end complete', async function () {
    this.timeout(240_000);
    const home = mkdtempSync(join(tmpdir(), 'ty-push-kill-'));
    const port = await freePort();
    let { child } = await spawnBackend(home, port, {});
    const conn = connect(`sqlite:${join(home, 'trainyard.db')}`);
    try {
      const url = `http://127.0.0.1:${port}`;
      const token = readFileSync(join(home, 'token'), 'utf8').trim();
      await saveWorkspace(new TrainyardClient({ baseUrl: url, token }), { dir: join(REPO, 'test/fixtures/outputs'), model: 'outputs', version: 'v1', cacheDir: false });
      // a run that is still running (it sleeps) when the push happens, and its token
      const client = new TrainyardClient({ baseUrl: url, token });
      const id = (await client.launch({ model: 'outputs', params: { sleep: 120 } })).runs[0].id;
      await waitForRuns(client, [id], 60_000, (r) => r.status === 'Running');
      const runToken = await issueRunToken(conn.db, id);
      const out = join(dir, 'kill');
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'small.txt'), 'small\n');
      const big = Buffer.alloc(300 << 20);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
      writeFileSync(join(out, 'big.bin'), big);
      const env = { PATH: process.env.PATH, PYTHONPATH: PYTHON_DIR, TRAINYARD_BACKEND_URL: url, TRAINYARD_RUN_TOKEN: runToken, TRAINYARD_RUN_ID: id, TRAINYARD_OUTPUT_DIR: out };
      const pushing = promisify(execFile)('python3', ['-c', 'import trainyard, sys; sys.exit(trainyard.push_outputs_main())'], { env });
      // the moment the backend is writing the big blob: kill it, and start it again
      const tmp = join(home, 'images', '.trainyard-tmp');
      for (const deadline = Date.now() + 120_000; !(existsSync(tmp) && readdirSync(tmp).length > 0); ) {
        if (Date.now() > deadline) throw new Error('the backend never started writing the pushed blob');
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      ({ child } = await spawnBackend(home, port, {}));
      const { stderr } = await pushing;
      assert.match(stderr, /finish: kept 2 output files/);
      const list = await client.listArtifacts(id);
      assert.equal(list.state, 'stored');
      assert.deepEqual(list.files.map((f) => [f.path, f.size, f.sha256]), [
        ['big.bin', big.length, sha(big)],
        ['small.txt', 6, sha('small\n')],
      ]);
      assert.ok(existsSync(join(home, 'images', 'blobs', 'sha256', sha(big))));
      await client.cancelRun(id);
      await waitForRuns(client, [id], 60_000);
    } finally {
      await conn.close();
      child.kill('SIGKILL');
      removeHome(home);
    }
  });
});

describe("the in-image client's connections to the backend", () => {
  it('gives up a connect that goes unanswered after its connect timeout and tries again, and still waits for a slow answer', async () => {
    // A lost SYN (seen on the real node: a pod's first connect unanswered for 63 or 127 s while the
    // backend answered every other pod) is made here by a listener whose accept queue is full: the
    // kernel drops the SYNs. Without a connect timeout of its own the call would wait out the
    // kernel's retransmissions (about 2 minutes), past this test's bound.
    const script = `
import socket, threading, time, urllib.error, trainyard
trainyard._CONNECT_TIMEOUT = 1
trainyard._ATTEMPTS = 2
full = socket.socket(); full.bind(("127.0.0.1", 0)); full.listen(0)
filler = socket.create_connection(full.getsockname())
try:
    trainyard._request("POST", "http://127.0.0.1:%d/v1/x" % full.getsockname()[1], "tok", b"{}", "application/json")
    print("answered")
except (urllib.error.URLError, OSError) as err:
    print("gave up: %s" % getattr(err, "reason", err))
slow = socket.socket(); slow.bind(("127.0.0.1", 0)); slow.listen(8)
def answer():
    c, _ = slow.accept(); c.recv(65536); time.sleep(2)
    c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: 11\\r\\nConnection: close\\r\\n\\r\\n{"ok":true}'); c.close()
threading.Thread(target=answer, daemon=True).start()
print(trainyard._request("POST", "http://127.0.0.1:%d/v1/x" % slow.getsockname()[1], "tok", b"{}", "application/json"))
`;
    const { stdout } = await promisify(execFile)('python3', ['-c', script], { env: { PATH: process.env.PATH, PYTHONPATH: PYTHON_DIR }, timeout: 20_000 });
    assert.deepEqual(stdout.trim().split('\n'), ['gave up: timed out', "(200, {'ok': True})"]);
  });
});
