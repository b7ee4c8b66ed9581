// Archiving a pod's log on the real control plane: kwok serves every pod's log from the rig's
// pod.log (CRI format) with the kubelet's own log reader (follow, rotation, sinceTime,
// limitBytes), so this suite writes that file as a container runtime would, rotates it as the
// kubelet does (rename, new file), and checks what the archive holds: every line once, in order,
// through a rotation while followed, a gap marked where lines were rotated away unread, and the
// last line even without its newline.
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPodLog } from '../../../src/executors/kubernetes/pod-log-request';
import { env, kspec, RecordingSink, startCluster, type Cluster, type Env } from './helpers';

let seq = 0n;
/** CRI log lines, each a nanosecond after the last */
function cri(texts: string[]): string {
  return texts
    .map((t) => {
      const ns = BigInt(Date.now()) * 1_000_000n + seq++;
      const ts = `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`;
      return `${ts} stdout F ${t}\n`;
    })
    .join('');
}
const range = (p: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${p}-${from + i}`);

describe('kubernetes executor: logs (real control plane, kwok log reader)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let e: Env;
  let file: string;
  before(async function () {
    this.timeout(3 * 60 * 60 * 1000);
    cluster = await startCluster();
    file = join(cluster.info.state, 'pod.log');
  });
  after(async () => {
    await cluster?.stop();
  });
  beforeEach(async () => {
    e = await env(cluster, 'tyl');
    writeFileSync(file, '');
  });
  const rotate = (next: string) => {
    renameSync(file, `${file}.${Date.now()}`);
    writeFileSync(file, next);
  };

  it('follows a running pod as its log grows, through a rotation and a burst, and archives the end once', async () => {
    const sink = new RecordingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '50s' }); // room for every step below on a loaded machine
    await ex.submit([s]);
    await sink.waitFor(() => !!sink.startedEvent(s.id), 'started', 30_000);
    for (let i = 0; i < 4; i++) {
      appendFileSync(file, cri(range('a', i * 500, (i + 1) * 500)));
      await sink.waitLine(s.id, `a-${(i + 1) * 500 - 1}`, 10_000); // archived while it runs
    }
    rotate(cri(range('b', 0, 1000)));
    await sink.waitLine(s.id, 'b-999', 10_000);
    appendFileSync(file, cri(range('c', 0, 50_000))); // a burst: ~3 MB, lines cut across the stream's chunks
    await sink.waitLine(s.id, 'c-49999', 30_000);
    appendFileSync(file, cri(['the end']).slice(0, -1)); // no newline: a container's last write
    assert.equal(sink.finishedEvent(s.id), undefined, 'the lines came while the pod ran');
    assert.equal((await sink.waitFinished(s.id, 70_000)).status, 'Succeeded');
    await ex.stop();
    assert.deepEqual(sink.lines(s.id), [...range('a', 0, 2000), ...range('b', 0, 1000), ...range('c', 0, 50_000), 'the end']);
  });

  it('marks the span rotated away while no backend read it, resumes after a restart with nothing twice', async () => {
    const sink = new RecordingSink();
    const ex1 = e.make();
    await ex1.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '30s' });
    writeFileSync(file, cri(range('c', 0, 10)));
    await ex1.submit([s]);
    await sink.waitLine(s.id, 'c-9', 30_000);
    await ex1.stop(); // the backend goes away; the container goes on writing, and the kubelet rotates
    appendFileSync(file, cri(range('c', 10, 20)));
    rotate(cri(range('d', 0, 10)));
    const pod = (sink.lastRef(s.id) as { pod: string }).pod;

    const ex2 = e.make();
    await ex2.start(sink, [{ spec: s, status: 'Running', ref: sink.lastRef(s.id), startedAt: sink.startedEvent(s.id)!.startedAt }]);
    await sink.waitLine(s.id, 'd-9', 20_000);
    appendFileSync(file, cri(['e-0']));
    assert.equal(sink.finishedEvent(s.id), undefined, 'e-0 was written while the pod ran');
    assert.equal((await sink.waitFinished(s.id, 50_000)).status, 'Succeeded');
    await ex2.stop();
    const all = sink.of(s.id).flatMap((x) => (x.type === 'log' ? x.lines : []));
    const gaps = all.filter((l) => l.stream === 'system');
    assert.equal(gaps.length, 1, JSON.stringify(gaps));
    assert.match(gaps[0].text, new RegExp(`log of pod ${pod} was rotated while it was not being read; lines written after \\S+ and before \\S+ may be missing`));
    assert.deepEqual(
      all.map((l) => (l.stream === 'system' ? '<gap>' : l.text)),
      [...range('c', 0, 10), '<gap>', ...range('d', 0, 10), 'e-0'],
    );
  });

  it('a plain read asks for what follows sinceTime, at most limitBytes, with timestamps', async () => {
    writeFileSync(file, ['2020-01-01T00:00:01.5Z stdout F old', '2020-01-01T00:00:05.25Z stdout F new', '2020-01-01T00:00:06Z stderr F newer', ''].join('\n'));
    const sink = new RecordingSink();
    const ex = e.make();
    await ex.start(sink, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '8s' });
    await ex.submit([s]);
    await sink.waitLine(s.id, 'newer', 30_000);
    const pod = (sink.lastRef(s.id) as { pod: string }).pod;
    const q = { namespace: e.ns, pod };
    assert.equal(await readPodLog(e.sa, { ...q, sinceTime: '2020-01-01T00:00:05Z' }), '2020-01-01T00:00:05.250000000Z new\n2020-01-01T00:00:06.000000000Z newer\n');
    assert.equal(await readPodLog(e.sa, { ...q, sinceTime: '2020-01-01T00:00:05Z', limitBytes: 10 }), '2020-01-01');
    assert.equal((await readPodLog(e.sa, q)).split('\n').length, 4, 'no sinceTime: the whole log');
    await assert.rejects(readPodLog(e.sa, { ...q, pod: 'no-such-pod' }), (err: Error & { status?: number }) => err.status === 404);
    await ex.cancel(s.id);
    await ex.stop();
  });

  it('resumes a ref stored before timestamps (lines counted) without archiving those lines again', async () => {
    writeFileSync(file, cri(range('f', 0, 6)));
    const first = new RecordingSink();
    const ex1 = e.make();
    await ex1.start(first, []);
    const s = kspec();
    e.outcomes.set(s.id, { runFor: '8s' });
    await ex1.submit([s]);
    await first.waitLine(s.id, 'f-5', 30_000);
    await ex1.stop();
    const ref = first.lastRef(s.id) as { job: string; pod: string };

    const sink = new RecordingSink();
    const ex2 = e.make();
    await ex2.start(sink, [{ spec: s, status: 'Running', ref: { job: ref.job, pod: ref.pod, logLines: 4 }, startedAt: first.startedEvent(s.id)!.startedAt }]);
    assert.equal((await sink.waitFinished(s.id, 30_000)).status, 'Succeeded');
    await ex2.stop();
    assert.deepEqual(sink.lines(s.id), ['f-4', 'f-5']);
  });
});
