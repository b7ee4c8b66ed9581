/** The Runs tree model under event bursts: incremental refreshes, paging, grouping, scope. */
import assert from 'node:assert/strict';
import type { Run } from '@trainyard/shared/schemas/runs';
import { RunsModel, runDescription, runLabel, sweepSummary, varyingKeys } from '../src/views/runs-model';

let seq = 0;
function run(over: Partial<Run> = {}): Run {
  seq++;
  const t = new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + seq * 1000).toISOString();
  return {
    id: `run_${String(seq).padStart(10, '0')}`, model: 'eta', version: 'v1', entrypoint: 'train', command: 'python train.py', params: {},
    hardware: 'cpu-small', status: 'Pending', reason: null, sweepId: null, sweepIndex: null, scheduleId: null, executor: 'local',
    maxDurationSeconds: 3600, exitCode: null, createdBy: 'admin', createdAt: t, startedAt: null, finishedAt: null,
    pricePerHour: 0.05, estimatedCost: 0.05, actualCost: null, ...over,
  };
}
const newestFirst = (runs: Run[]) => [...runs].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));

describe('Runs tree model', () => {
  it('folds a burst of updates to loaded runs into element refreshes, never a root reload', () => {
    const m = new RunsModel();
    const runs = Array.from({ length: 10000 }, () => run());
    m.addPage(newestFirst(runs).slice(0, 200), 'cursor-1');
    const roots = m.roots();
    const loaded = newestFirst(runs).slice(0, 200);
    const burst: Run[] = [];
    for (let i = 0; i < 1000; i++) { const r = loaded[i % 50]; burst.push({ ...r, status: i >= 950 && i % 50 < 25 ? 'Succeeded' : 'Running', startedAt: r.createdAt }); }
    const refresh = m.apply(burst);
    assert.equal(refresh.root, false);
    assert.equal(refresh.nodes.length, 50, 'one refresh per changed run, not per event');
    assert.equal(m.roots(), roots, 'the root list was rebuilt');
    // the last state of each run in the batch wins
    assert.equal(m.runs.get(loaded[0].id)!.status, 'Succeeded');
    assert.equal(m.runs.get(loaded[49].id)!.status, 'Running');
    // node identity is stable, so VS Code can refresh the element it already has
    assert.equal(refresh.nodes.find((n) => n.key === `run:${loaded[0].id}`), roots.find((n) => n.key === `run:${loaded[0].id}`));
  });

  it('adds a new run at the top with one root refresh, and ignores updates to runs on pages not loaded', () => {
    const m = new RunsModel();
    const old = Array.from({ length: 300 }, () => run());
    m.addPage(newestFirst(old).slice(0, 100), 'c');
    const fresh = run();
    const r = m.apply([fresh, { ...old[0], status: 'Failed' }]);
    assert.equal(r.root, true);
    assert.equal(m.roots()[0].key, `run:${fresh.id}`);
    assert.equal(m.runs.has(old[0].id), false, 'a run from an unloaded page was added out of order');
    assert.equal(m.roots().at(-1)!.kind, 'more');
    m.addPage(newestFirst(old).slice(100, 300), null);
    assert.equal(m.roots().filter((n) => n.kind === 'run').length, 301);
    assert.notEqual(m.roots().at(-1)!.kind, 'more');
  });

  it('groups a sweep under one node, in sweep order; a new member refreshes only its sweep', () => {
    const m = new RunsModel();
    const sw = 'swp_0000000001';
    const members = [0, 1, 2].map((i) => run({ sweepId: sw, sweepIndex: i, params: { n: 10, region: ['sfo', 'nyc', 'sea'][i] } }));
    const single = run();
    m.addPage(newestFirst([members[0], members[1], single]), null);
    const roots = m.roots();
    assert.deepEqual(roots.map((n) => n.kind), ['run', 'sweep']);
    const r = m.apply([members[2]]);
    assert.equal(r.root, false);
    assert.deepEqual(r.nodes.map((n) => n.key), [`sweep:${sw}`]);
    assert.deepEqual(m.members(sw).map((x) => x.sweepIndex), [0, 1, 2]);
    assert.deepEqual([...varyingKeys(m.members(sw))], ['region']);
    assert.equal(runLabel(members[1], varyingKeys(m.members(sw))), '#2 region=nyc');
    const done: Run[] = members.map((x) => ({ ...x, status: 'Succeeded' as const }));
    done[2] = { ...done[2], status: 'Failed' };
    m.apply(done);
    assert.equal(sweepSummary(m.members(sw)), '3 runs · 2 Succeeded, 1 Failed');
  });

  it('keeps only the runs of the scope', () => {
    const m = new RunsModel();
    m.scope = { kind: 'model', model: 'eta' };
    assert.deepEqual(m.query(), { model: 'eta' });
    m.addPage([run({ model: 'other' }), run()], null);
    assert.equal(m.runs.size, 1);
    const r = m.apply([run({ model: 'other' })]);
    assert.deepEqual(r, { root: false, nodes: [] });
    m.scope = { kind: 'mine', user: 'ana' };
    assert.deepEqual(m.query(), { createdBy: 'ana' });
    m.clear();
    m.addPage([run({ createdBy: 'bo' }), run({ createdBy: 'ana' })], null);
    assert.deepEqual([...m.runs.values()].map((x) => x.createdBy), ['ana']);
  });

  it('describes a run by status, hardware, duration and cost', () => {
    const r = run({ status: 'Succeeded', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:05.000Z', actualCost: 0.0009 });
    assert.equal(runDescription(r), 'Succeeded · cpu-small · 1m 5s · $0.0009');
    assert.equal(runDescription(run({ estimatedCost: 2.5 })), 'Pending · cpu-small · $2.50 est.');
  });
});
