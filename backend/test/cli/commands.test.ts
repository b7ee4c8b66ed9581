import assert from 'node:assert/strict';
import type { Estimate, LaunchRequest, LaunchResult, LogLine, Run } from '@trainyard/shared';
import { runCli } from '../../src/cli/program';
import { buildLaunchRequest } from '../../src/cli/commands/train';
import { summarize } from '../../src/cli/commands/metrics';
import { fakeDeps } from './fake-deps';

const estimate: Estimate = {
  runs: 6, hardware: 'cpu-small', pricePerHour: 0.05, expectedSecondsPerRun: 120, basis: 'median-of-past-runs',
  pastRuns: 4, totalCost: 0.01, currency: 'USD', explanation: 'median of 4 past runs of eta-correction',
};

function run(over: Partial<Run>): Run {
  return {
    id: 'run_aaaaaaaaaaaaaaaaaaaaaa', model: 'eta-correction', version: 'v1', entrypoint: 'train', command: 'python train.py',
    params: {}, hardware: 'cpu-small', status: 'Succeeded', reason: null, sweepId: null, sweepIndex: null, scheduleId: null,
    executor: 'local', maxDurationSeconds: 3600, exitCode: 0, createdBy: 'me', createdAt: '2025-01-01T11:50:00Z',
    startedAt: '2025-01-01T11:55:00Z', finishedAt: '2025-01-01T11:57:05Z', pricePerHour: 0.05, estimatedCost: 0.002, actualCost: 0.0017,
    ...over,
  };
}

describe('cli commands (fake client)', () => {
  it('builds a LaunchRequest from train flags', () => {
    const req = buildLaunchRequest('eta-correction:v2', {
      entrypoint: 'predict', hardware: 'gpu-t4', param: ['lr=0.01', 'note='], sweep: ['region=sfo,nyc', 'depth=3,5,8'],
      parallelism: '2', maxDuration: '30', schedule: ' 0 3 * * * ', timezone: 'Europe/Paris', allowLargeSweep: true, idempotencyKey: 'k1',
    });
    assert.deepEqual(req, {
      model: 'eta-correction', version: 'v2', entrypoint: 'predict', hardware: 'gpu-t4', params: { lr: 0.01, note: '' },
      sweep: { region: ['sfo', 'nyc'], depth: [3, 5, 8] }, parallelism: 2, maxDurationMinutes: 30, schedule: '0 3 * * *',
      timezone: 'Europe/Paris', allowLargeSweep: true, idempotencyKey: 'k1',
    } satisfies LaunchRequest);
    assert.deepEqual(buildLaunchRequest('m1', { param: [], sweep: [] }), { model: 'm1' });
  });

  it('--estimate prices the request, prints runs × price × duration and the basis, and launches nothing', async () => {
    let sent: LaunchRequest | undefined;
    let launched = false;
    const deps = fakeDeps({
      estimate: async (b: LaunchRequest) => ((sent = b), estimate),
      launch: async () => ((launched = true), {} as LaunchResult),
    });
    assert.equal(await runCli(['train', 'eta-correction', '--sweep', 'region=sfo,nyc,sea', '--sweep', 'lr=0.1,0.2', '--estimate'], deps), 0);
    assert.equal(launched, false);
    assert.deepEqual(sent?.sweep, { region: ['sfo', 'nyc', 'sea'], lr: [0.1, 0.2] });
    const text = deps.stdout.join('\n');
    assert.match(text, /6 runs × \$0\.0500\/h \(cpu-small\) × 2m 00s expected = \$0\.0100/);
    assert.match(text, /basis: median duration of 4 past runs/);
    assert.match(text, /nothing was launched/);
  });

  it('train prints the created runs, sweep, schedule with next fire, and the estimate', async () => {
    const result: LaunchResult = {
      runs: [run({ id: 'run_bbbbbbbbbbbbbbbbbbbbbb', status: 'Pending', params: { region: 'sfo' } })],
      sweep: { id: 'swp_cccccccccccccccccccccc', model: 'eta-correction', version: 'v1', axes: { region: ['sfo'] }, size: 1, parallelism: 1, createdAt: '2025-01-01T12:00:00Z' },
      schedule: {
        id: 'sch_dddddddddddddddddddddd', model: 'eta-correction', cron: '*/5 * * * *', timezone: 'UTC', request: { model: 'eta-correction' },
        versionPolicy: 'latest', enabled: true, nextFireAt: '2025-01-01T12:05:00Z', lastFireAt: null, lastError: null, createdBy: 'me', createdAt: '2025-01-01T12:00:00Z',
      },
      estimate: { ...estimate, runs: 1, basis: 'max-duration', pastRuns: 0, totalCost: 0.05 },
    };
    const deps = fakeDeps({ launch: async () => result });
    assert.equal(await runCli(['train', 'eta-correction', '--schedule', '*/5 * * * *'], deps), 0);
    const text = deps.stdout.join('\n');
    assert.match(text, /created schedule sch_d+: "\*\/5 \* \* \* \*" \(UTC\), next fire 2025-01-01T12:05:00Z \(in 5m\)/);
    assert.match(text, /each fire runs the latest version at fire time/);
    assert.match(text, /sweep swp_c+: 1 points/);
    assert.match(text, /run_b+ {2}Pending {2}region=sfo/);
    assert.match(text, /estimate per fire: 1 run × \$0\.0500\/h .*basis: the max duration/);
  });

  it('runs prints a table with duration and actual or ~estimated cost', async () => {
    const deps = fakeDeps({
      listRuns: async () => ({
        items: [run({}), run({ id: 'run_eeeeeeeeeeeeeeeeeeeeee', status: 'Pending', startedAt: null, finishedAt: null, actualCost: null, reason: 'waiting for a free slot' })],
        nextCursor: null,
      }),
    });
    assert.equal(await runCli(['runs'], deps), 0);
    assert.match(deps.stdout[0], /^ID +MODEL +VERSION +ENTRYPOINT +STATUS +BY +HARDWARE +STARTED +DURATION +COST +REASON$/);
    assert.match(deps.stdout[1], /run_a+ +eta-correction +v1 +train +Succeeded +me +cpu-small +5m ago +2m 05s +\$0\.0017$/);
    assert.match(deps.stdout[2], /Pending .* - +- +~\$0\.0020 +waiting for a free slot$/);
  });

  it('logs sends the program stderr lines to stderr and pages until empty', async () => {
    const lines: LogLine[] = [
      { seq: 0, stream: 'stdout', text: 'epoch 1', time: '2025-01-01T12:00:00Z' },
      { seq: 1, stream: 'stderr', text: 'warning: slow', time: '2025-01-01T12:00:01Z' },
    ];
    const afters: number[] = [];
    const deps = fakeDeps({
      getLogs: async (_id: string, q: { after?: number } = {}) => {
        afters.push(q.after ?? -1);
        const page = lines.filter((l) => l.seq > (q.after ?? -1));
        return { lines: page, nextSeq: page.length ? page[page.length - 1].seq : (q.after ?? -1), done: true };
      },
    });
    assert.equal(await runCli(['logs', 'run_aaaaaaaaaaaaaaaaaaaaaa'], deps), 0);
    assert.deepEqual(deps.stdout, ['epoch 1']);
    assert.deepEqual(deps.stderr, ['warning: slow']);
    assert.deepEqual(afters, [-1, 1]);
  });

  it('summarizes a metric series as last, min, max, count', () => {
    const s = summarize({ name: 'rmse', points: [3, 1, 2].map((v, i) => ({ step: i, value: v, time: '2025-01-01T12:00:00Z' })) });
    assert.deepEqual(s, { name: 'rmse', last: 2, lastStep: 2, min: 1, max: 3, count: 3 });
    assert.equal(summarize({ name: 'x', points: [] }), null);
  });

  it('schedules says which version each fire runs; train --pin pins one (only with --schedule)', async () => {
    const base = { model: 'eta-correction', cron: '0 3 * * *', timezone: 'UTC', enabled: true, nextFireAt: null, lastFireAt: null, lastError: null, createdBy: 'me', createdAt: '2025-01-01T12:00:00Z' };
    const items = [
      { ...base, id: 'sch_aaaaaaaaaaaaaaaaaaaaaa', request: { model: 'eta-correction' }, versionPolicy: 'latest' as const },
      { ...base, id: 'sch_bbbbbbbbbbbbbbbbbbbbbb', request: { model: 'eta-correction', version: 'v3' }, versionPolicy: 'pinned' as const, lastFireAt: '2025-01-01T03:00:00Z', lastError: 'model "eta-correction" has no version "v3"' },
    ];
    const deps = fakeDeps({ listSchedules: async () => ({ items, nextCursor: null }) });
    assert.equal(await runCli(['schedules'], deps), 0);
    const lines = deps.stdout.join('\n').split('\n');
    assert.match(lines.find((l) => l.includes('sch_a'))!, /latest at fire/);
    assert.match(lines.find((l) => l.includes('sch_b'))!, /v3 \(pinned\)/);
    assert.match(deps.stdout.join('\n'), /sch_b+: the last fire launched nothing: model "eta-correction" has no version "v3"/);
    assert.doesNotMatch(deps.stdout.join('\n'), /sch_a+: the last fire/);
    const sent: LaunchRequest[] = [];
    const d2 = fakeDeps({ launch: async (r: LaunchRequest) => { sent.push(r); throw new Error('stop here'); } });
    await runCli(['train', 'eta-correction', '--schedule', '0 3 * * *', '--pin'], d2);
    assert.equal(sent[0].versionPolicy, 'pinned');
    const d3 = fakeDeps({ launch: async (r: LaunchRequest) => { sent.push(r); throw new Error('stop here'); } });
    assert.notEqual(await runCli(['train', 'eta-correction', '--pin'], d3), 0);
    assert.match(d3.stderr.join('\n'), /--pin only applies with --schedule/);
    assert.equal(sent.length, 1);
  });

  it('schedules delete ID deletes that schedule and honours --json', async () => {
    const deleted: string[] = [];
    const deps = fakeDeps({ deleteSchedule: async (id: string) => (deleted.push(id), { id, deleted: true as const }) });
    assert.equal(await runCli(['schedules', 'delete', 'sch_dddddddddddddddddddddd', '--json'], deps), 0);
    assert.deepEqual(deleted, ['sch_dddddddddddddddddddddd']);
    assert.deepEqual(JSON.parse(deps.stdout.join('\n')), { id: 'sch_dddddddddddddddddddddd', deleted: true });
  });

  it('open prints the dashboard link', async () => {
    const deps = fakeDeps({ health: async () => ({ ok: true, version: '0.1.0' }) });
    assert.equal(await runCli(['open', '--no-browser'], deps), 0);
    assert.match(deps.stdout.join('\n'), /^dashboard: http:\/\/127\.0\.0\.1:9\//m);
  });
});
