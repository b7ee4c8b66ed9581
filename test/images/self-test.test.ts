/**
 * The model self-test, for real: a smoke command run inside the newly built image
 * with podman (on the Debian+python3 test base), or with the host Python for a
 * version on the empty base, before the version is recorded. A failing self-test
 * leaves no version and no tag, marks the snapshot failed and carries the last 50
 * lines of output.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ensureBaseImage } from '../components/base-image';
import { podmanArgs } from '../components/podman';
import { harness, type Harness } from '../../backend/test/snapshots/helpers';
import { tempDir } from '../../backend/test/images/helpers';
import { getVersion } from '../../backend/src/models/store';
import { HttpError } from '../../backend/src/errors';

const SMOKE = 'python -c "import model; model.smoke()"';

function workspace(dir: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train.py'), 'print("train")\n');
  writeFileSync(join(dir, 'model.py'), body);
  return dir;
}

// prints 200 numbered lines, then fails: only the last 50 lines may come back
const FAILING = [
  'import os, sys',
  'def smoke():',
  '    for i in range(1, 201):',
  '        print(f"line{i}", flush=True)',
  '    print("network:", os.environ.get("TRAINYARD_SELF_TEST"), file=sys.stderr, flush=True)',
  '    raise SystemExit("smoke broke: weights missing")',
  '',
].join('\n');

async function assertFailedCleanly(h: Harness, model: string, label: string, err: unknown): Promise<string> {
  assert.ok(err instanceof HttpError, String(err));
  assert.equal(err.status, 400);
  assert.match(err.message, /self-test failed: `python -c "import model; model.smoke\(\)"` exited with code 1/);
  assert.match(err.message, /smoke broke: weights missing/);
  assert.match(err.message, /\nline200\n/);
  assert.doesNotMatch(err.message, /\nline150\n/, 'only the last 50 lines');
  assert.equal(await getVersion(h.ctx.db, model, label), null, 'no version');
  assert.equal(await h.ctx.images.getManifest(model, label), null, 'no tag');
  const snap = await h.ctx.db.selectFrom('snapshots').selectAll().where('model', '=', model).where('version', '=', label).executeTakeFirstOrThrow();
  assert.equal(snap.status, 'failed');
  assert.match(snap.error ?? '', /self-test failed/);
  return err.message;
}

describe('the model self-test', function () {
  this.timeout(10 * 60_000);
  let h: Harness;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    h = await harness('sqlite', 64 * 1024 * 1024, { snapshots: { podmanArgs: podmanArgs() } });
    tmp = tempDir('selftest');
  });
  after(async () => {
    await h?.close();
    tmp?.cleanup();
  });

  it('runs inside the new image with podman: a pass records the version, a failure records nothing', async () => {
    const base = `oci-layout:${await ensureBaseImage()}:latest`;
    // the smoke checks it runs in the image (Debian's /usr/bin/python3, /app) without network
    const good = workspace(join(tmp.dir, 'good'), [
      'import os, socket, sys',
      'def smoke():',
      '    assert sys.executable.startswith("/usr/bin/python3") or sys.executable == "/opt/trainyard/bin/python", sys.executable',
      '    assert os.getcwd() == "/app" and os.environ["TRAINYARD_SELF_TEST"] == "1"',
      '    import trainyard; assert trainyard.params() == {}',
      '    assert [n for _, n in socket.if_nameindex()] == ["lo"], socket.if_nameindex()',
      '    print("smoke ok")',
      '',
    ].join('\n'));
    const ok = await saveWorkspace(h.client, { dir: good, model: 'smoky', version: 'ok', baseImage: base, selfTest: SMOKE });
    assert.equal(ok.version.label, 'ok');
    assert.ok(await getVersion(h.ctx.db, 'smoky', 'ok'));
    assert.ok(await h.ctx.images.getManifest('smoky', 'ok'));

    const bad = workspace(join(tmp.dir, 'bad'), FAILING);
    const err = await saveWorkspace(h.client, { dir: bad, model: 'smoky', version: 'bad', baseImage: base, selfTest: SMOKE }).then(() => null, (e: unknown) => e);
    const msg = await assertFailedCleanly(h, 'smoky', 'bad', err);
    assert.match(msg, /inside the new image \(podman\)/);
    assert.match(msg, /network: 1/, 'stderr is captured too');
  });

  it('runs with the host Python for a version on the empty base', async () => {
    const good = workspace(join(tmp.dir, 'good0'), 'import os\ndef smoke():\n    assert os.path.basename(os.getcwd()) == "app"\n    import trainyard\n    print("ok")\n');
    const ok = await saveWorkspace(h.client, { dir: good, model: 'smoky0', version: 'ok', selfTest: SMOKE });
    assert.equal(ok.version.baseImage, null);
    assert.ok(await getVersion(h.ctx.db, 'smoky0', 'ok'));

    const bad = workspace(join(tmp.dir, 'bad0'), FAILING);
    const err = await saveWorkspace(h.client, { dir: bad, model: 'smoky0', version: 'bad', selfTest: SMOKE }).then(() => null, (e: unknown) => e);
    const msg = await assertFailedCleanly(h, 'smoky0', 'bad', err);
    assert.match(msg, /with the host Python \(no base image\)/);
  });
});
