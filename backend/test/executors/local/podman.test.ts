// The podman path with real podman and the Debian + python3 test base image (an OCI layout,
// handed to the executor as oci:<dir>:latest, as the images module does).
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { runnableImage } from '../../../src/runtime/podman';
import { join } from 'node:path';
import { ensureBaseImage } from '../../../../test/components/base-image';
import { podman, podmanArgs, podmanAvailable } from '../../../../test/components/podman';
import { executor, RecordingSink, spec, tempDir } from './helpers';
import { buildVersionImage } from './version-image';

const DIGEST = `sha256:${'1'.repeat(64)}`;
const TRAIN = [
  'import json, os, sys',
  'import trainyard',
  'p = trainyard.params()',
  'trainyard.log_metric("loss", p["lr"] * 2, step=1)',
  'print("cwd=" + os.getcwd() + " home=" + os.environ["HOME"] + " out=" + os.environ["TRAINYARD_OUTPUT_DIR"])',
  'print("run=" + os.environ["TRAINYARD_RUN_ID"] + " pythonpath=" + os.environ["PYTHONPATH"])',
  'print("nofile=" + open("/proc/self/limits").read().split("Max open files")[1].split()[0])',
  'open(os.path.join(os.environ["TRAINYARD_OUTPUT_DIR"], "result.json"), "w").write("{}")',
  'print("oops", file=sys.stderr)',
  'sys.exit(int(p["code"]))',
  '',
].join('\n');
const HELPER = [
  'import json, os',
  'def params():',
  '    return json.loads(os.environ.get("TRAINYARD_PARAMS", "{}"))',
  'def log_metric(name, value, step=None):',
  '    print("::trainyard:metric " + json.dumps({"name": name, "value": value, "step": step}), flush=True)',
  '',
].join('\n');

describe('local executor: podman path', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tempDir>;
  let imageDir: ReturnType<typeof tempDir>;
  let image: string;
  before(async function () {
    assert.ok(podmanAvailable(), 'podman works here (test/components/podman.ts)');
    imageDir = tempDir('local-podman-image');
    const layout = buildVersionImage(await ensureBaseImage(), { 'app/train.py': TRAIN, 'opt/trainyard/python/trainyard.py': HELPER }, join(imageDir.path, 'layout'));
    image = `oci:${layout}:latest`;
  });
  after(async () => {
    // drop the test's image name from podman's (test) store (its link went with the test's data home)
    const { image: ref } = await runnableImage(image, DIGEST, join(imageDir.path, 'links'));
    await podman(['rmi', `localhost/${ref.slice('oci:'.length)}`]).catch(() => {});
    imageDir?.remove();
  });
  beforeEach(() => (tmp = tempDir('local-podman')));
  afterEach(() => tmp.remove());

  const podmanSpec = (code: number, command = 'python3 train.py') =>
    spec('unused', {
      command,
      params: { lr: 0.25, code },
      hardware: { name: 'cpu-small', cpu: 1, memory: '512Mi', pricePerHour: 0 },
      image: { ref: 'oci-layout:/x:1', digest: DIGEST, baseImage: 'debian-python3' },
    });

  it('runs a version with a base image in a container: metric lines, env, output mount, exit code', async () => {
    const sink = new RecordingSink();
    const materialized: string[] = [];
    const home = join(tmp.path, 'home');
    const sharedLinks = join(tmpdir(), 'trainyard-oci');
    const sharedBefore = existsSync(sharedLinks) ? readdirSync(sharedLinks).length : -1;
    const ex = executor(join(home, 'runs'), {}, {
      podmanArgs: podmanArgs(),
      podmanImage: async () => image,
      materialize: async (s) => void materialized.push(s.id),
    });
    await ex.start(sink, []);
    const ok = podmanSpec(0);
    const bad = podmanSpec(3);
    await ex.submit([ok, bad]);
    const fin = await sink.waitFinished(ok.id, 90_000);
    const finBad = await sink.waitFinished(bad.id, 90_000);
    await ex.stop();

    assert.deepEqual(materialized, [], 'the podman path does not unpack the image itself');
    // the image was named through a link in the data home (podman-oci beside runs/, mode 0700), not in the shared temp folder
    const links = join(home, 'podman-oci');
    assert.equal(statSync(links).mode & 0o777, 0o700);
    const names = readdirSync(links);
    assert.equal(names.length, 1, names.join(', '));
    assert.match(names[0], /^trainyard-[0-9a-f]{24}$/);
    assert.ok(lstatSync(join(links, names[0])).isSymbolicLink());
    assert.equal(readlinkSync(join(links, names[0])), join(imageDir.path, 'layout'));
    assert.equal(existsSync(sharedLinks) ? readdirSync(sharedLinks).length : -1, sharedBefore, `nothing new in ${sharedLinks}`);
    assert.deepEqual({ status: fin.status, exitCode: fin.exitCode, reason: fin.reason }, { status: 'Succeeded', exitCode: 0, reason: null });
    assert.equal((sink.startedEvent(ok.id)!.ref as { mode: string; container: string }).mode, 'podman');
    assert.equal((sink.startedEvent(ok.id)!.ref as { container: string }).container, `trainyard-${ok.id}`);
    assert.deepEqual(sink.lines(ok.id, 'stdout'), [
      '::trainyard:metric {"name": "loss", "value": 0.5, "step": 1}',
      'cwd=/app home=/trainyard/home out=/trainyard/output',
      `run=${ok.id} pythonpath=/opt/trainyard/python`,
      'nofile=1024',
    ]);
    assert.deepEqual(sink.lines(ok.id, 'stderr'), ['oops'], 'no pull progress or podman noise in the run log');
    assert.equal(readFileSync(join(home, 'runs', ok.id, 'output', 'result.json'), 'utf8'), '{}');

    assert.equal(finBad.status, 'Failed');
    assert.equal(finBad.exitCode, 3);
    assert.equal(finBad.reason, 'exited with code 3: oops');

    const left = await podman(['ps', '-a', '--format', '{{.Names}}']);
    assert.ok(!left.stdout.includes(ok.id) && !left.stdout.includes(bad.id), `containers removed: ${left.stdout}`);
  });

  it('runs with no capabilities and no way to gain any (no-new-privileges, cap-drop ALL)', async () => {
    const sink = new RecordingSink();
    const ex = executor(join(tmp.path, 'runs'), {}, { podmanArgs: podmanArgs(), podmanImage: async () => image });
    await ex.start(sink, []);
    // root in the container, yet: no effective/permitted/bounding capabilities, NoNewPrivs set, and
    // an operation that needs CAP_CHOWN (chown to another user) is refused
    const s = podmanSpec(0, "grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/self/status; id -u; touch /tmp/f; chown 1234 /tmp/f && echo chown-ok || echo chown-refused");
    await ex.submit([s]);
    const fin = await sink.waitFinished(s.id, 90_000);
    await ex.stop();
    assert.equal(fin.status, 'Succeeded', fin.reason ?? '');
    assert.deepEqual(sink.lines(s.id, 'stdout'), [
      'CapPrm:\t0000000000000000',
      'CapEff:\t0000000000000000',
      'CapBnd:\t0000000000000000',
      'NoNewPrivs:\t1',
      '0',
      'chown-refused',
    ]);
  });

  it('cancels a container run with podman stop, reported Cancelled', async () => {
    const sink = new RecordingSink();
    const ex = executor(join(tmp.path, 'runs'), {}, { podmanArgs: podmanArgs(), podmanImage: async () => image });
    await ex.start(sink, []);
    const s = podmanSpec(0, 'echo started; exec sleep 60');
    await ex.submit([s]);
    await sink.waitFor(() => sink.lines(s.id).includes('started') || sink.finishedEvent(s.id) !== undefined, 'the container to start', 90_000);
    assert.deepEqual(sink.lines(s.id), ['started']);
    const t0 = Date.now();
    await ex.cancel(s.id);
    const fin = await sink.waitFinished(s.id, 30_000);
    await ex.stop();
    assert.equal(fin.status, 'Cancelled');
    assert.equal(fin.reason, 'cancelled by user');
    assert.ok(Date.now() - t0 < 8000, `stopped by SIGTERM, not after the grace period (${Date.now() - t0} ms)`);
    const left = await podman(['ps', '-a', '--format', '{{.Names}}']);
    assert.ok(!left.stdout.includes(s.id));
  });

  it('enforces the max duration on a container run', async () => {
    const sink = new RecordingSink();
    const ex = executor(join(tmp.path, 'runs'), {}, { podmanArgs: podmanArgs(), podmanImage: async () => image });
    await ex.start(sink, []);
    const s = { ...podmanSpec(0, 'echo started; exec sleep 60'), maxDurationSeconds: 3 };
    await ex.submit([s]);
    const fin = await sink.waitFinished(s.id, 30_000);
    await ex.stop();
    // podman's own messages (time="…" level=…) share the stream when the machine is loaded; the run printed only this
    assert.deepEqual(sink.lines(s.id).filter((l) => !/^time="[^"]*" level=/.test(l)), ['started']);
    assert.equal(fin.status, 'Failed');
    assert.equal(fin.reason, 'exceeded max duration of 3 seconds');
    const left = await podman(['ps', '-a', '--format', '{{.Names}}']);
    assert.ok(!left.stdout.includes(s.id));
  });

  it('fails the run with a reason when podman is required but cannot be used', async () => {
    const sink = new RecordingSink();
    const ex = executor(tmp.path, {}, { config: { maxConcurrent: 2, podman: 'always', python: 'python3' } }); // no podmanImage
    await ex.start(sink, []);
    const s = podmanSpec(0);
    await ex.submit([s]);
    const fin = await sink.waitFinished(s.id);
    await ex.stop();
    assert.equal(fin.status, 'Failed');
    assert.match(fin.reason ?? '', /executor\.local\.podman is "always"/);
  });
});
