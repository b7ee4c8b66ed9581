// Pure parts of the Kubernetes executor: name/label sanitizing, quantities, availability
// arithmetic, index sets, and that deploy/configmap.yaml holds a valid trainyard.yaml.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { dnsLabel, imageByDigest, jobNameForRun, labelValue } from '../../../src/executors/kubernetes/names';
import { availabilityFor, quantity } from '../../../src/executors/kubernetes/capacity';
import { inIndexSet, runState } from '../../../src/executors/kubernetes/status';
import { FINISH_LOG_PREFIX } from '../../../src/executors/kubernetes/manifests';
import { resolveConfig, DEFAULT_HARDWARE } from '../../../src/config';

const DNS = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const PYTHON_DIR = join(import.meta.dirname, '../../../../python');

describe('kubernetes executor: names', () => {
  it('keeps valid names and turns invalid ones into distinct valid ones', () => {
    assert.equal(dnsLabel('ty-run-abc'), 'ty-run-abc');
    assert.equal(labelValue('v3'), 'v3');
    const raw = ['3f2a+dirty.9c1b', '3f2a+dirty.9c1c', 'Eta_Correction', '-x-', '', 'a'.repeat(200), '++++', 'émoji 🚀'];
    const dns = raw.map((r) => dnsLabel(r));
    const labels = raw.map(labelValue);
    for (const d of dns) assert.ok(DNS.test(d) && d.length <= 63, `dns ${JSON.stringify(d)}`);
    for (const l of labels) assert.ok(LABEL.test(l) && l.length <= 63, `label ${JSON.stringify(l)}`);
    assert.equal(new Set(dns).size, raw.length, 'no two originals collide');
    assert.equal(new Set(labels.filter((l) => l !== '')).size, raw.length - 1);
    const job = jobNameForRun('run_' + 'x'.repeat(80));
    assert.ok(job.length <= 52 && DNS.test(job));
  });

  it('names the image by digest', () => {
    const d = 'sha256:' + 'a'.repeat(64);
    assert.equal(imageByDigest('127.0.0.1:5000/team/eta:v3', d, 'eta'), `127.0.0.1:5000/team/eta@${d}`);
    assert.equal(imageByDigest('oci-layout:/x/images:eta:v3', d, 'ETA'), `trainyard.local/eta-${dnsLabel('ETA').split('-').pop()}@${d}`);
  });
});

describe('kubernetes executor: capacity arithmetic', () => {
  const node = (name: string, cpu: string, mem: string, gpu: string, labels: Record<string, string> = {}, taints: V1Node['spec'] = {}): V1Node => ({
    metadata: { name, labels },
    spec: taints,
    status: { allocatable: { cpu, memory: mem, 'nvidia.com/gpu': gpu, pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const pod = (nodeName: string, cpu: string, mem: string): V1Pod => ({
    spec: { nodeName, containers: [{ name: 'c', resources: { requests: { cpu, memory: mem } } }] },
    status: { phase: 'Running' },
  });

  it('parses quantities', () => {
    assert.equal(quantity('500m'), 0.5);
    assert.equal(quantity('2Gi'), 2 * 1024 ** 3);
    assert.equal(quantity('1k'), 1000);
    assert.equal(quantity(undefined), 0);
  });

  it('counts slots from allocatable minus requests, and says why a profile can never fit', () => {
    const nodes = [
      node('a', '4', '8Gi', '0'),
      node('g', '16', '64Gi', '1', { 'trainyard.dev/gpu': 'nvidia-tesla-t4' }, { taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] }),
    ];
    const gpu2 = { ...DEFAULT_HARDWARE[2], name: 'gpu-t4-x2', gpu: { type: 'nvidia-tesla-t4', count: 2 } };
    const noTol = { ...DEFAULT_HARDWARE[2], name: 'gpu-no-tol', tolerations: [] };
    const a = availabilityFor([...DEFAULT_HARDWARE, gpu2, noTol], nodes, [pod('a', '3', '1Gi')]);
    // node a: 1 CPU left; the GPU node's taint keeps untolerating profiles off it
    assert.equal(a.get('cpu-small')!.status, 'fits-now');
    assert.equal(a.get('cpu-small')!.slots, 1);
    assert.equal(a.get('cpu-large')!.status, 'cannot-fit');
    assert.match(a.get('cpu-large')!.reason, /no node has 16Gi allocatable memory \(the most is 8Gi\)/);
    assert.equal(a.get('gpu-t4')!.slots, 1);
    assert.equal(a.get('gpu-t4-x2')!.status, 'cannot-fit');
    assert.match(a.get('gpu-t4-x2')!.reason, /no node has 2 nvidia\.com\/gpu \(the most any matching node has is 1\)/);
    assert.equal(a.get('gpu-no-tol')!.status, 'cannot-fit');
    assert.match(a.get('gpu-no-tol')!.reason, /taint nvidia\.com\/gpu:NoSchedule/);
    const busy = availabilityFor([DEFAULT_HARDWARE[2]], nodes, [{ ...pod('g', '1', '1Gi'), spec: { nodeName: 'g', containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': '1' } } }] } }]);
    assert.equal(busy.get('gpu-t4')!.status, 'will-queue');
  });
});

describe('kubernetes executor: index sets and deploy config', () => {
  it('reads completedIndexes / failedIndexes', () => {
    assert.ok(inIndexSet('0-2,5', 1));
    assert.ok(inIndexSet('0-2,5', 5));
    assert.ok(!inIndexSet('0-2,5', 3));
    assert.ok(!inIndexSet('', 0));
  });

  it('deploy/configmap.yaml carries a trainyard.yaml the backend accepts, with the kubernetes executor', () => {
    const cm = parse(readFileSync(new URL('../../../../deploy/configmap.yaml', import.meta.url), 'utf8'));
    const raw = parse(cm.data['trainyard.yaml']);
    const cfg = resolveConfig(raw, '/', 'config', { TRAINYARD_STORE_URL: 'postgres://ty:secret@db.example:5432/trainyard' });
    assert.equal(cfg.executor.kind, 'kubernetes');
    assert.equal(cfg.executor.kubernetes.namespace, 'trainyard');
    assert.equal(cfg.store.url, 'postgres://ty:secret@db.example:5432/trainyard', 'the store URL from the Secret (TRAINYARD_STORE_URL)');
    assert.equal(cfg.executor.kubernetes.backendUrl, 'http://trainyard:7878');
    // without the Secret's URL it refuses to start on a SQLite file, and says what to give
    assert.throws(() => resolveConfig(raw, '/', 'config', {}), /store\.requirePostgres is set but the store is sqlite; give the PostgreSQL URL as store\.url or TRAINYARD_STORE_URL/);
  });
});

describe('kubernetes executor: run state from the pod', () => {
  const pod = (phase: string, state: object): V1Pod => ({
    metadata: { name: 'p1', creationTimestamp: new Date('2026-01-01T00:00:00Z') },
    spec: { nodeName: 'ty-real-1', containers: [] },
    status: { phase, containerStatuses: [{ name: 'run', image: 'x', imageID: '', ready: false, restartCount: 0, state }] },
  });

  it('a container that already ended while the pod still reads Running counts as Running from its start', () => {
    const ended = runState(null, [pod('Running', { terminated: { exitCode: 0, startedAt: new Date('2026-01-01T00:00:01Z'), finishedAt: new Date('2026-01-01T00:00:02Z') } })], 600, null);
    assert.deepEqual(ended, { phase: 'Running', startedAt: '2026-01-01T00:00:01.000Z', pod: 'p1' });
    const creating = runState(null, [pod('Pending', { waiting: { reason: 'ContainerCreating' } })], 600, null);
    assert.equal(creating?.phase, 'Pending');
  });

  it('a failed container\'s termination message (its last log lines) ends the reason', () => {
    const message = 'epoch 1\nTraceback (most recent call last):\n  File "train.py", line 9, in <module>\n    load()\n  File "train.py", line 3, in load\n    raise ValueError("no data")\nValueError: no data\n\n';
    const out = runState(null, [pod('Failed', { terminated: { exitCode: 1, reason: 'Error', message, finishedAt: new Date() } })], 600, null);
    assert.equal(out?.phase === 'Final' && out.reason, 'exited with code 1:     load()\n  File "train.py", line 3, in load\n    raise ValueError("no data")\nValueError: no data');
  });

  it("the finish step's lines after a traceback (the in-image module writes them with FINISH_LOG_PREFIX) stay out of the reason", () => {
    assert.equal(execFileSync('python3', ['-c', 'import trainyard; print(trainyard.FINISH_LOG_PREFIX, end="")'], { env: { PATH: process.env.PATH, PYTHONPATH: PYTHON_DIR }, encoding: 'utf8' }), FINISH_LOG_PREFIX);
    // what the finish step writes when it cannot push (no backend in its environment): a real line of it
    const finish = spawnSync('python3', ['-c', 'import sys, trainyard; sys.exit(trainyard.push_outputs_main())'], { env: { PATH: process.env.PATH, PYTHONPATH: PYTHON_DIR }, encoding: 'utf8' }).stderr;
    assert.match(finish, /^trainyard finish: cannot push outputs: TRAINYARD_BACKEND_URL, TRAINYARD_RUN_TOKEN, TRAINYARD_RUN_ID not set\n$/);
    const message = `Traceback (most recent call last):\n  File "train.py", line 3, in <module>\n    raise ValueError("no data")\nValueError: no data\n${finish}${finish}`;
    const out = runState(null, [pod('Failed', { terminated: { exitCode: 1, reason: 'Error', message, finishedAt: new Date() } })], 600, null);
    assert.equal(out?.phase === 'Final' && out.reason, 'exited with code 1: Traceback (most recent call last):\n  File "train.py", line 3, in <module>\n    raise ValueError("no data")\nValueError: no data');
  });
});
