/**
 * Component behaviour on jsdom with React Testing Library: validation next to
 * the field, estimate refresh, live run events (no polling), empty and error
 * states, keyboard hardware picking, ANSI logs and search. jsdom is installed
 * for this file only (before/after), and the components are imported after it.
 */
import assert from 'node:assert/strict';
import globalJsdom from 'global-jsdom';
import { artifactTests } from './run-artifacts';
import type { ReactNode } from 'react';
import { ApiError } from '@trainyard/shared';
import type { CostQuery, CostSummary, Schedule, Estimate, HardwareWithAvailability, LaunchRequest, LaunchResult, LogLine, Model, Run, Version } from '@trainyard/shared';
import type * as UiModule from '../../shared/src/ui/index';
import type * as Rtl from '@testing-library/react';
import { createFakeClient, type FakeAnswers } from '../helpers/fake-client';

let ui: typeof UiModule;
let rtl: typeof Rtl;
let cleanupDom: () => void;
const DOM_EVENTS = ['Event', 'CustomEvent', 'EventTarget'] as const;
const saved: Record<string, unknown> = {};

const T = '2025-03-03T10:00:00.000Z';
const model: Model = { name: 'eta-correction', team: null, description: null, createdBy: 'me', createdAt: T, latestVersion: 'abc1234', versionCount: 2, runCount: 1 };
const version = (label: string, createdAt: string, dirty: boolean): Version => ({
  model: 'eta-correction', label, imageRef: `oci-layout:/x:${label}`, digest: `sha256:${'a'.repeat(64)}`, baseImage: null, baseDigest: null,
  entrypoints: { train: 'python train.py', predict: 'python predict.py' }, git: { sha: 'abc1234def5678', dirty }, sizeBytes: 2048, fileCount: 4, createdBy: 'me', createdAt,
});
const hw = (name: string, status: 'fits-now' | 'will-queue' | 'cannot-fit', reason = ''): HardwareWithAvailability =>
  ({ name, cpu: 1, memory: '2Gi', pricePerHour: 0.5, availability: { status, slots: status === 'fits-now' ? 2 : 0, reason } });
const run = (id: string, patch: Partial<Run> = {}): Run => ({
  id, model: 'eta-correction', version: 'abc1234', entrypoint: 'train', command: 'python train.py', params: { region: 'sfo' }, hardware: 'cpu-small',
  status: 'Pending', reason: 'waiting for a free slot', sweepId: null, sweepIndex: null, scheduleId: null, executor: 'local', maxDurationSeconds: 3600,
  exitCode: null, createdBy: 'me', createdAt: T, startedAt: null, finishedAt: null, pricePerHour: 0.05, estimatedCost: 0.05, actualCost: null, ...patch,
});

/** The fake client of test/helpers/fake-client.ts with this file's answers (the eta-correction model, three hardware kinds). */
const fakeClient = (answers: FakeAnswers = {}) => createFakeClient({
  listModels: () => ({ items: [model] }),
  listVersions: () => ({ items: [version('old0001', '2025-03-01T10:00:00Z', false), version('abc1234', '2025-03-02T10:00:00Z', true)] }),
  listHardware: () => ({ items: [hw('cpu-small', 'fits-now'), hw('cpu-large', 'will-queue', 'all 2 slots are busy'), hw('gpu-t4', 'cannot-fit', 'no GPU nodes: this machine has no nvidia-tesla-t4')] }),
  estimate: (req: LaunchRequest): Estimate => {
    const runs = req.sweep ? Object.values(req.sweep).reduce((n, v) => n * v.length, 1) : 1;
    return { runs, hardware: req.hardware ?? 'cpu-small', pricePerHour: 0.5, expectedSecondsPerRun: 120, basis: 'median-of-past-runs', pastRuns: 4, totalCost: runs * 0.5 * 120 / 3600, currency: 'USD', explanation: '' };
  },
  launch: (): LaunchResult => ({ runs: [run('run_aaaaaaaaaa1'), run('run_aaaaaaaaaa2')], sweep: { id: 'swp_aaaaaaaaaa', model: 'eta-correction', version: 'abc1234', axes: { region: ['sfo', 'nyc'] }, size: 2, parallelism: 2, createdAt: T }, schedule: null, estimate: { runs: 2, hardware: 'cpu-small', pricePerHour: 0.5, expectedSecondsPerRun: 120, basis: 'max-duration', pastRuns: 0, totalCost: 0.03, currency: 'USD', explanation: '' } }),
  listRuns: () => ({ items: [], nextCursor: null }),
  getRun: (id: string) => run(id),
  cancelRun: (id: string) => run(id, { status: 'Cancelled' }),
  getLogs: () => ({ lines: [], nextSeq: 0, done: true }),
  getMetrics: (id: string) => ({ runId: id, series: [] }),
  getVersion: () => version('abc1234', T, true),
  listSchedules: () => ({ items: [] }),
  deleteSchedule: (id: string) => ({ id, deleted: true }),
  getCosts: (q: CostQuery): CostSummary => ({ from: q.from ?? '2025-01-06', to: '2025-03-26', currency: 'USD', items: [] }),
  listArtifacts: (id: string) => ({ runId: id, state: 'pending', ref: null, digest: null, files: [], totalBytes: 0, note: null }),
}, answers);

function mount(client: UiModule.UiClient, node: ReactNode) {
  return rtl.render(<ui.TrainyardUi client={client} theme="light">{node}</ui.TrainyardUi>);
}

describe('shared UI components (jsdom)', function () {
  this.timeout(20000);
  before(async () => {
    cleanupDom = globalJsdom('<!doctype html><html><body></body></html>', { url: 'http://localhost/', pretendToBeVisual: true });
    // jsdom has no matchMedia; uPlot reads it when loaded
    const mm = (query: string) => ({ matches: false, media: query, addEventListener() {}, removeEventListener() {}, addListener() {}, removeListener() {}, onchange: null, dispatchEvent: () => false });
    (window as unknown as { matchMedia: unknown }).matchMedia = mm;
    (globalThis as unknown as { matchMedia: unknown }).matchMedia = mm;
    // Node has its own Event classes; the DOM code must get jsdom's
    for (const k of DOM_EVENTS) { saved[k] = (globalThis as Record<string, unknown>)[k]; (globalThis as Record<string, unknown>)[k] = (window as unknown as Record<string, unknown>)[k]; }
    rtl = await import('@testing-library/react');
    ui = await import('../../shared/src/ui/index');
  });
  afterEach(() => rtl.cleanup());
  artifactTests(() => ({ ui, rtl }));
  after(() => {
    cleanupDom();
    delete (globalThis as { matchMedia?: unknown }).matchMedia;
    for (const k of DOM_EVENTS) (globalThis as Record<string, unknown>)[k] = saved[k];
  });

  describe('LaunchForm', () => {
    it('preselects the latest version with its git SHA and dirty marker', async () => {
      const f = fakeClient();
      mount(f.client, <ui.LaunchForm estimateDelayMs={10} />);
      const select = (await rtl.screen.findByLabelText('Version')) as HTMLSelectElement;
      await rtl.waitFor(() => assert.equal(select.value, 'abc1234'));
      assert.match(select.selectedOptions[0].textContent ?? '', /git abc1234 · ● uncommitted changes · latest/);
    });

    it('puts schema validation messages next to their fields and does not launch', async () => {
      const f = fakeClient();
      mount(f.client, <ui.LaunchForm estimateDelayMs={10} />);
      const par = await rtl.screen.findByLabelText('Parallelism');
      rtl.fireEvent.change(par, { target: { value: '0' } });
      rtl.fireEvent.blur(par);
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: '+ param' }));
      rtl.fireEvent.change(rtl.screen.getByLabelText('Params 1 name'), { target: { value: '9lives' } });
      rtl.fireEvent.change(rtl.screen.getByLabelText('Params 1 value'), { target: { value: 'x' } });
      const parError = await rtl.screen.findByText('must be >= 1');
      assert.equal(parError.id, par.getAttribute('aria-describedby'));
      assert.equal(par.getAttribute('aria-invalid'), 'true');
      await rtl.screen.findByText(/name must be a letter or "_"/);
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: /Launch/ }));
      await rtl.screen.findByText('Fix the fields marked above to launch.');
      assert.equal(f.calls.launch, undefined);
    });

    it('refreshes the estimate as the sweep grows and says its basis', async () => {
      const f = fakeClient();
      mount(f.client, <ui.LaunchForm estimateDelayMs={10} />);
      await rtl.screen.findByText(/median of 4 past successful runs/);
      const before = f.calls.estimate.length;
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: '+ sweep axis' }));
      rtl.fireEvent.change(rtl.screen.getByLabelText('Sweep axes 1 name'), { target: { value: 'region' } });
      rtl.fireEvent.change(rtl.screen.getByLabelText('Sweep axes 1 value'), { target: { value: 'sfo, nyc, sea' } });
      await rtl.waitFor(() => assert.match(rtl.screen.getByTestId('estimate').textContent ?? '', /3 runs × \$0\.50\/h/));
      assert.match(rtl.screen.getByTestId('grid-size').textContent ?? '', /3 runs \(region: 3\)/);
      const last = f.calls.estimate.at(-1)![0] as LaunchRequest;
      assert.deepEqual(last.sweep, { region: ['sfo', 'nyc', 'sea'] });
      assert.equal(last.version, 'abc1234');
      assert.equal(last.hardware, 'cpu-small');
      assert.ok(f.calls.estimate.length > before);
    });

    it('previews a cron schedule in plain words', async () => {
      const f = fakeClient();
      mount(f.client, <ui.LaunchForm estimateDelayMs={10} />);
      rtl.fireEvent.click(await rtl.screen.findByLabelText(/Repeat on a schedule/));
      await rtl.screen.findByText('Fires at 03:00 on Monday (UTC)');
      rtl.fireEvent.change(rtl.screen.getByLabelText('Cron rule'), { target: { value: 'every tuesday' } });
      await rtl.screen.findByText(/not a cron rule/);
    });

    it('a schedule runs the latest version at each fire unless pinned, and says which', async () => {
      const f = fakeClient();
      mount(f.client, <ui.LaunchForm estimateDelayMs={10} />);
      await rtl.screen.findByText(/median of 4/);
      rtl.fireEvent.click(rtl.screen.getByLabelText(/Repeat on a schedule/));
      const policy = await rtl.screen.findByTestId('schedule-version-policy');
      assert.ok((rtl.screen.getByLabelText('the latest version at fire time') as HTMLInputElement).checked);
      await rtl.waitFor(() => assert.equal((f.calls.estimate.at(-1)![0] as LaunchRequest).versionPolicy, 'latest'));
      assert.equal((f.calls.estimate.at(-1)![0] as LaunchRequest).version, undefined, 'no version: resolved at each fire');
      assert.match(policy.textContent ?? '', /version abc1234, always/);
      rtl.fireEvent.click(rtl.screen.getByLabelText(/version abc1234, always/));
      await rtl.waitFor(() => assert.equal((f.calls.estimate.at(-1)![0] as LaunchRequest).versionPolicy, 'pinned'));
      assert.equal((f.calls.estimate.at(-1)![0] as LaunchRequest).version, 'abc1234');
    });

    it('launches and shows what was created', async () => {
      const f = fakeClient();
      mount(f.client, <ui.LaunchForm estimateDelayMs={10} />);
      await rtl.screen.findByText(/median of 4/);
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: 'Launch run' }));
      const result = await rtl.screen.findByTestId('launch-result');
      assert.match(result.textContent ?? '', /Launched sweep swp_aaaaaaaaaa with 2 runs/);
      assert.ok(result.querySelector('a[href="#/runs/run_aaaaaaaaaa1"]'));
      assert.match(String((f.calls.launch[0][0] as LaunchRequest).idempotencyKey), /^ui-/);
    });

    it('explains a down backend', async () => {
      const f = fakeClient({ listModels: () => { throw new ApiError(0, 'unavailable', 'cannot reach'); } });
      mount(f.client, <ui.LaunchForm />);
      await rtl.screen.findByText('The Trainyard backend is not reachable');
    });
  });

  describe('HardwarePicker', () => {
    it('moves with the arrow keys, and a profile that cannot fit explains itself and is not selectable', async () => {
      const f = fakeClient();
      const picked: string[] = [];
      mount(f.client, <ui.HardwarePicker value="cpu-small" onChange={(n) => picked.push(n)} />);
      const radios = await rtl.screen.findAllByRole('radio');
      assert.equal(radios.length, 3);
      rtl.fireEvent.keyDown(radios[0], { key: 'ArrowRight' });
      assert.deepEqual(picked, ['cpu-large']);
      rtl.fireEvent.keyDown(radios[1], { key: 'ArrowRight' });
      rtl.fireEvent.click(radios[2]);
      assert.deepEqual(picked, ['cpu-large']);
      assert.equal(radios[2].getAttribute('aria-disabled'), 'true');
      assert.match(radios[2].textContent ?? '', /Cannot fit — no GPU nodes/);
      assert.match(radios[0].textContent ?? '', /Fits now · 2 slots free/);
      assert.match(radios[1].textContent ?? '', /Will queue — all 2 slots are busy/);
    });

    it('says "will queue: scale-up expected" for an autoscaled profile no node takes now, apart from "cannot fit", and lets it be picked', async () => {
      const scaleUp = { ...hw('gpu-a100', 'will-queue', 'no node has 1 nvidia.com/gpu now; scale-up expected'), availability: { status: 'will-queue' as const, slots: 0, scaleUp: true, reason: 'no node has 1 nvidia.com/gpu now; scale-up expected' } };
      const f = fakeClient({ listHardware: () => ({ items: [hw('gpu-t4', 'cannot-fit', 'no node has 1 nvidia.com/gpu'), scaleUp, hw('cpu-large', 'will-queue', 'all 2 slots are busy')] }) });
      const picked: string[] = [];
      mount(f.client, <ui.HardwarePicker value={null} onChange={(n) => picked.push(n)} />);
      const radios = await rtl.screen.findAllByRole('radio');
      assert.deepEqual(radios.map((r) => r.getAttribute('data-availability')), ['cannot-fit', 'scale-up', 'will-queue']);
      assert.match(radios[1].textContent ?? '', /Will queue: scale-up expected — no node has 1 nvidia\.com\/gpu now/);
      assert.doesNotMatch(radios[1].textContent ?? '', /Cannot fit/);
      assert.doesNotMatch(radios[2].textContent ?? '', /scale-up/);
      assert.equal(radios[1].getAttribute('aria-disabled'), 'false');
      rtl.fireEvent.click(radios[0]);
      rtl.fireEvent.click(radios[1]);
      assert.deepEqual(picked, ['gpu-a100']);
    });
  });

  describe('RunList', () => {
    it('applies live run events without polling', async () => {
      const f = fakeClient({ listRuns: () => ({ items: [run('run_aaaaaaaaaa1')], nextCursor: null }) });
      const { container } = mount(f.client, <ui.RunList />);
      await rtl.waitFor(() => assert.ok(container.querySelector('[data-run-id=run_aaaaaaaaaa1][data-status=Pending]')));
      f.push({ kind: 'run', data: run('run_aaaaaaaaaa1', { status: 'Running', reason: null, startedAt: T }) });
      f.push({ kind: 'run', data: run('run_bbbbbbbbbb2', { status: 'Pending', sweepId: 'swp_cccccccccc', sweepIndex: 0 }) });
      await rtl.waitFor(() => assert.ok(container.querySelector('[data-run-id=run_aaaaaaaaaa1][data-status=Running]')));
      await rtl.waitFor(() => assert.ok(container.querySelector('[data-run-id=run_bbbbbbbbbb2]')));
      assert.ok(container.querySelector('[data-sweep=swp_cccccccccc]'), 'grouped under its sweep');
      assert.match(rtl.screen.getByTestId('run-count').textContent ?? '', /2 of 2 runs/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(f.calls.listRuns.length, 1, 'no polling');
    });

    it('filters by status', async () => {
      const f = fakeClient({ listRuns: () => ({ items: [run('run_aaaaaaaaaa1'), run('run_bbbbbbbbbb2', { status: 'Failed' })], nextCursor: null }) });
      const { container } = mount(f.client, <ui.RunList />);
      await rtl.waitFor(() => assert.equal(container.querySelectorAll('[data-run-id]').length, 2));
      rtl.fireEvent.change(rtl.screen.getByLabelText('Filter by status'), { target: { value: 'Failed' } });
      await rtl.waitFor(() => assert.equal(container.querySelectorAll('[data-run-id]').length, 1));
      assert.ok(container.querySelector('[data-run-id=run_bbbbbbbbbb2]'));
    });

    it('shows only my runs with "Mine" (GET /v1/me), filtered by the server and in live events; no box without me()', async () => {
      const alice = (id: string) => run(id, { createdBy: 'alice' });
      const f = fakeClient({
        listRuns: (q: { createdBy?: string } = {}) => ({ items: q.createdBy === 'alice' ? [alice('run_aaaaaaaaaa1')] : [alice('run_aaaaaaaaaa1'), run('run_bbbbbbbbbb2', { createdBy: 'bob' })], nextCursor: null }),
        me: () => ({ user: 'alice', admin: false, kind: 'person', tokenId: 'tok_aaaaaaaaaaaa', runId: null, expiresAt: null }),
      });
      const { container } = mount(f.client, <ui.RunList />);
      await rtl.waitFor(() => assert.equal(container.querySelectorAll('[data-run-id]').length, 2));
      rtl.fireEvent.click(await rtl.screen.findByLabelText('Mine'));
      await rtl.waitFor(() => assert.equal(container.querySelectorAll('[data-run-id]').length, 1));
      assert.ok(container.querySelector('[data-run-id=run_aaaaaaaaaa1]'));
      assert.equal((f.calls.listRuns.at(-1)![0] as { createdBy?: string }).createdBy, 'alice');
      f.push({ kind: 'run', data: run('run_cccccccccc3', { createdBy: 'bob' }) });
      f.push({ kind: 'run', data: alice('run_dddddddddd4') });
      await rtl.waitFor(() => assert.ok(container.querySelector('[data-run-id=run_dddddddddd4]')));
      assert.equal(container.querySelector('[data-run-id=run_cccccccccc3]'), null, "another person's run stays out");
      rtl.cleanup();
      const plain = fakeClient({ listRuns: () => ({ items: [run('run_aaaaaaaaaa1')], nextCursor: null }) });
      const second = mount(plain.client, <ui.RunList />);
      await rtl.waitFor(() => assert.ok(second.container.querySelector('[data-run-id=run_aaaaaaaaaa1]')));
      assert.equal(rtl.screen.queryByLabelText('Mine'), null);
    });

    it('has designed empty, 401 and backend-down states', async () => {
      const empty = fakeClient();
      mount(empty.client, <ui.RunList model="eta-correction" />);
      await rtl.screen.findByText('No runs of eta-correction yet');
      rtl.cleanup();
      mount(fakeClient({ listRuns: () => { throw new ApiError(401, 'unauthorized', 'invalid bearer token'); } }).client, <ui.RunList />);
      await rtl.screen.findByText('Not signed in');
      rtl.cleanup();
      mount(fakeClient({ listRuns: () => { throw new ApiError(0, 'unavailable', 'down'); } }).client, <ui.RunList />);
      const alert = await rtl.screen.findByRole('alert');
      assert.equal(alert.getAttribute('data-error-kind'), 'down');
    });
  });

  describe('RunDetails and LogViewer', () => {
    it('says a missing run is missing (404)', async () => {
      const f = fakeClient({ getRun: () => { throw new ApiError(404, 'not_found', 'no run run_zzzzzzzzzz'); } });
      mount(f.client, <ui.RunDetails runId="run_zzzzzzzzzz" />);
      await rtl.screen.findByText('Cannot find run run_zzzzzzzzzz');
    });

    it('explains why a run waits and updates live', async () => {
      const f = fakeClient();
      mount(f.client, <ui.RunDetails runId="run_aaaaaaaaaa1" />);
      await rtl.screen.findByText('Waiting: waiting for a free slot');
      assert.equal(rtl.screen.getByTestId('run-created-by').textContent, 'me');
      f.push({ kind: 'run', data: run('run_aaaaaaaaaa1', { status: 'Failed', reason: 'the process exited with code 3', exitCode: 3, startedAt: T, finishedAt: '2025-03-03T10:01:00.000Z', actualCost: 0.01 }) });
      await rtl.waitFor(() => assert.match(rtl.screen.getByTestId('status-explained').textContent ?? '', /Failed with exit code 3: the process exited with code 3/));
    });

    it('keeps ANSI colours, counts lines and finds matches', async () => {
      const lines: LogLine[] = [
        { seq: 0, stream: 'stdout', text: '\u001b[32mepoch 1\u001b[0m loss=0.5', time: T },
        { seq: 1, stream: 'stderr', text: 'warning: slow', time: T },
        { seq: 2, stream: 'stdout', text: 'epoch 2 loss=0.25', time: T },
      ];
      const f = fakeClient({ logLines: () => lines });
      const { container } = mount(f.client, <ui.LogViewer runId="run_aaaaaaaaaa1" />);
      await rtl.waitFor(() => assert.match(rtl.screen.getByTestId('log-count').textContent ?? '', /3 lines · complete/));
      const green = container.querySelector('.ty-fg-2');
      assert.equal(green?.textContent, 'epoch 1');
      assert.ok(container.querySelector('.ty-logline-stderr'));
      rtl.fireEvent.change(rtl.screen.getByLabelText('Search logs'), { target: { value: 'EPOCH' } });
      await rtl.waitFor(() => assert.equal(rtl.screen.getByTestId('log-matches').textContent, '1 of 2 matches'), { timeout: 2000 });
      assert.equal(container.querySelectorAll('mark').length, 2);
    });
  });

  describe('RunDetails cancel', () => {
    it('asks inline before cancelling, can be kept running, and shows the result', async () => {
      const f = fakeClient({ getRun: (id: string) => run(id, { status: 'Running', reason: null, startedAt: T }) });
      mount(f.client, <ui.RunDetails runId="run_aaaaaaaaaa1" />);
      rtl.fireEvent.click(await rtl.screen.findByRole('button', { name: 'Cancel run…' }));
      const dialog = await rtl.screen.findByRole('alertdialog', { name: 'Confirm cancel' });
      assert.match(dialog.textContent ?? '', /Cancel this run\? It is stopped now/);
      assert.equal(f.calls.cancelRun, undefined, 'nothing cancelled before the confirmation');
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: 'Keep running' }));
      await rtl.waitFor(() => assert.equal(rtl.screen.queryByRole('alertdialog'), null));
      assert.equal(f.calls.cancelRun, undefined);
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: 'Cancel run…' }));
      rtl.fireEvent.click(await rtl.screen.findByRole('button', { name: 'Cancel run' }));
      const result = await rtl.screen.findByTestId('cancel-result');
      assert.match(result.textContent ?? '', /the run is Cancelled/);
      assert.deepEqual(f.calls.cancelRun, [['run_aaaaaaaaaa1']]);
    });

    it('keeps the Cancelled an event brought when the reload after the cancel answers an older Running', async () => {
      // the cancel answers while the process is still stopping; its reload is read before the run ends
      // but answered after the Cancelled event (seen under load in the dashboard e2e)
      let gets = 0;
      let answerReload!: (r: Run) => void;
      const f = fakeClient({
        getRun: (id: string) => (++gets === 1 ? run(id, { status: 'Running', reason: null, startedAt: T }) : new Promise<Run>((res) => (answerReload = res))),
        cancelRun: (id: string) => run(id, { status: 'Running', reason: null, startedAt: T }),
      });
      const { container } = mount(f.client, <ui.RunDetails runId="run_aaaaaaaaaa1" />);
      rtl.fireEvent.click(await rtl.screen.findByRole('button', { name: 'Cancel run…' }));
      rtl.fireEvent.click(await rtl.screen.findByRole('button', { name: 'Cancel run' }));
      await rtl.waitFor(() => assert.equal(gets, 2));
      await rtl.act(async () => f.push({ kind: 'run', data: run('run_aaaaaaaaaa1', { status: 'Cancelled', reason: 'cancelled by me', startedAt: T, finishedAt: T }) }));
      await rtl.waitFor(() => assert.equal(container.querySelector('[data-testid=run-details]')!.getAttribute('data-status'), 'Cancelled'));
      await rtl.act(async () => answerReload(run('run_aaaaaaaaaa1', { status: 'Running', reason: null, startedAt: T })));
      assert.equal(container.querySelector('[data-testid=run-details]')!.getAttribute('data-status'), 'Cancelled');
    });

    it('says why a cancel failed', async () => {
      const f = fakeClient({ getRun: (id: string) => run(id, { status: 'Running', reason: null, startedAt: T }), cancelRun: () => { throw new ApiError(409, 'conflict', 'run run_aaaaaaaaaa1 is already Succeeded'); } });
      mount(f.client, <ui.RunDetails runId="run_aaaaaaaaaa1" />);
      rtl.fireEvent.click(await rtl.screen.findByRole('button', { name: 'Cancel run…' }));
      rtl.fireEvent.click(await rtl.screen.findByRole('button', { name: 'Cancel run' }));
      const result = await rtl.screen.findByTestId('cancel-result');
      assert.match(result.textContent ?? '', /Could not cancel: run run_aaaaaaaaaa1 is already Succeeded/);
    });

    it('shows min and max of each metric, not a guessed best', async () => {
      const series = [{ name: 'accuracy', points: [{ step: 1, value: 0.5, time: T }, { step: 2, value: 0.9, time: T }, { step: 3, value: 0.8, time: T }] }];
      const f = fakeClient({ getMetrics: (id: string) => ({ runId: id, series }) });
      const { container } = mount(f.client, <ui.RunDetails runId="run_aaaaaaaaaa1" />);
      await rtl.waitFor(() => assert.ok(container.querySelector('tr[data-metric=accuracy]')));
      const cells = [...container.querySelectorAll('tr[data-metric=accuracy] td')].map((td) => td.textContent);
      assert.deepEqual(cells, ['accuracy', '0.8', '0.5', '0.9', '3']);
      assert.deepEqual([...container.querySelectorAll('[aria-label="Metric summary"] th')].map((th) => th.textContent), ['Metric', 'Final', 'Min', 'Max', 'Points']);
    });
  });

  describe('SweepView best direction', () => {
    it('uses the name-based guess by default, says so, and lets the user pick per metric', async () => {
      const members = [run('run_aaaaaaaaaa1', { sweepId: 'swp_aaaaaaaaaa', sweepIndex: 0, status: 'Succeeded' }), run('run_aaaaaaaaaa2', { sweepId: 'swp_aaaaaaaaaa', sweepIndex: 1, status: 'Succeeded', params: { region: 'nyc' } })];
      const vals: Record<string, number[]> = { run_aaaaaaaaaa1: [3, 1, 2], run_aaaaaaaaaa2: [5, 4, 6] };
      const f = fakeClient({
        listRuns: () => ({ items: members, nextCursor: null }),
        getMetrics: (id: string) => ({ runId: id, series: [{ name: 'loss', points: vals[id].map((value, i) => ({ step: i + 1, value, time: T })) }] }),
      });
      const { container } = mount(f.client, <ui.SweepView sweepId="swp_aaaaaaaaaa" />);
      const pick = (await rtl.screen.findByLabelText('Best loss')) as HTMLSelectElement;
      assert.equal(pick.value, 'min');
      assert.match(pick.selectedOptions[0].textContent ?? '', /guessed from the name/);
      const bestColumn = () => [...container.querySelectorAll('[aria-label="Sweep runs"] tbody tr')].map((tr) => tr.querySelectorAll('td')[5].textContent);
      await rtl.waitFor(() => assert.deepEqual(bestColumn(), ['1', '4']));
      assert.ok(rtl.screen.getByRole('button', { name: /loss best \(min\)/ }));
      rtl.fireEvent.change(pick, { target: { value: 'max' } });
      await rtl.waitFor(() => assert.deepEqual(bestColumn(), ['3', '6']));
      assert.ok(rtl.screen.getByRole('button', { name: /loss best \(max\)/ }));
      assert.doesNotMatch(pick.selectedOptions[0].textContent ?? '', /guessed/);
    });
  });

  describe('SweepView metrics that cannot be read', () => {
    const members = [run('run_bbbbbbbbbb1', { sweepId: 'swp_bbbbbbbbbb', sweepIndex: 0, status: 'Succeeded' }), run('run_bbbbbbbbbb2', { sweepId: 'swp_bbbbbbbbbb', sweepIndex: 1, status: 'Succeeded', params: { region: 'nyc' } })];
    const series = (id: string) => ({ runId: id, series: [{ name: 'loss', points: [{ step: 1, value: id.endsWith('1') ? 7 : 9, time: T }] }] });

    it("reads a run's metrics again after a failed read, and charts them", async () => {
      let failures = 1;
      const f = fakeClient({
        listRuns: () => ({ items: members, nextCursor: null }),
        getMetrics: (id: string) => {
          if (id.endsWith('2') && failures-- > 0) throw new ApiError(0, 'unavailable', 'the connection dropped');
          return series(id);
        },
      });
      mount(f.client, <ui.SweepView sweepId="swp_bbbbbbbbbb" />);
      await rtl.screen.findByLabelText('Best loss');
      const best = () => [...document.querySelectorAll('[aria-label="Sweep runs"] tbody tr')].map((tr) => tr.querySelectorAll('td')[5].textContent);
      await rtl.waitFor(() => assert.deepEqual(best(), ['7', '9']), { timeout: 3000 });
      assert.equal(f.calls.getMetrics.filter(([id]) => id === 'run_bbbbbbbbbb2').length, 2, 'read twice');
      assert.equal(rtl.screen.queryByRole('alert'), null);
    });

    /** a sweep whose metric reads fail until up() */
    const unreachable = () => {
      const state = { down: true };
      const f = fakeClient({
        listRuns: () => ({ items: members, nextCursor: null }),
        getMetrics: (id: string) => {
          if (state.down) throw new ApiError(0, 'unavailable', 'cannot reach the backend');
          return series(id);
        },
      });
      return { f, up: () => (state.down = false) };
    };

    it('says why, with a retry, when a run\'s metrics still cannot be read, instead of "No metrics yet"', async () => {
      const { f, up } = unreachable();
      mount(f.client, <ui.SweepView sweepId="swp_bbbbbbbbbb" />);
      const alert = await rtl.screen.findByRole('alert', undefined, { timeout: 5000 });
      assert.equal(rtl.screen.queryByText('No metrics yet'), null);
      assert.equal(f.calls.getMetrics.filter(([id]) => id === 'run_bbbbbbbbbb1').length, 3, 'three reads before giving up');
      up();
      rtl.fireEvent.click(rtl.within(alert).getByRole('button'));
      await rtl.screen.findByLabelText('Best loss');
      assert.equal(rtl.screen.queryByRole('alert'), null);
    });

    it('reads the metrics again by itself once the event stream reconnects, as its error says', async () => {
      const { f, up } = unreachable();
      mount(f.client, <ui.SweepView sweepId="swp_bbbbbbbbbb" />);
      await rtl.screen.findByRole('alert', undefined, { timeout: 5000 });
      up();
      f.drop(); // the backend comes back: the stream reconnects (after its backoff) and the sweep reloads
      await rtl.screen.findByLabelText('Best loss', undefined, { timeout: 5000 });
      assert.equal(rtl.screen.queryByRole('alert'), null);
    });
  });

  describe('ScheduleList', () => {
    const schedule = (id: string, patch: Partial<Schedule> = {}): Schedule => ({
      id, model: 'eta-correction', cron: '0 3 * * 1', timezone: 'UTC', enabled: true, createdBy: 'me', createdAt: T,
      request: { model: 'eta-correction', entrypoint: 'train', hardware: 'cpu-small', params: { epochs: 5 }, sweep: { region: ['sfo', 'nyc', 'sea'], lr: [0.1, 0.01] } },
      versionPolicy: 'latest', nextFireAt: '2099-03-09T03:00:00.000Z', lastFireAt: null, lastError: null, ...patch,
    });

    it('says how to create one when there are none', async () => {
      mount(fakeClient().client, <ui.ScheduleList />);
      const note = await rtl.screen.findByRole('note');
      assert.match(note.textContent ?? '', /No schedules yet/);
      assert.match(note.textContent ?? '', /Repeat on a schedule/);
      assert.match(note.textContent ?? '', /trainyard train MODEL --schedule/);
      assert.ok(note.querySelector('a[href="#/launch"]'));
    });

    it('shows the rule in words with next fire times and what it launches, and follows schedule events', async () => {
      const f = fakeClient({ listSchedules: () => ({ items: [schedule('sch_aaaaaaaaaa')] }) });
      const { container } = mount(f.client, <ui.ScheduleList />);
      const card = await rtl.screen.findByRole('region', { name: 'Schedule sch_aaaaaaaaaa' });
      assert.match(card.textContent ?? '', /Fires at 03:00 on Monday \(UTC\)/);
      assert.equal(card.querySelectorAll('[aria-label="Next fire times"] li').length, 3);
      assert.match(card.querySelector('[aria-label="Next fire times"] li')?.textContent ?? '', /Mon.*03:00 UTC/);
      assert.equal(card.querySelector('[data-testid=schedule-size]')?.textContent, 'sweep of 6 runs (region: 3 × lr: 2)');
      assert.match(card.textContent ?? '', /epochs=5/);
      assert.match(card.textContent ?? '', /cpu-small/);
      assert.match(card.textContent ?? '', /Lastnot yet/);
      assert.equal(card.querySelector('[data-testid=schedule-version]')?.textContent, 'the latest at each fire');
      assert.equal(card.querySelector('[data-testid=schedule-last-error]'), null);
      f.push({ kind: 'schedule', data: schedule('sch_aaaaaaaaaa', { lastFireAt: '2025-03-03T03:00:00.000Z' }) });
      f.push({ kind: 'schedule', data: schedule('sch_bbbbbbbbbb', { cron: '*/15 * * * *', request: { model: 'eta-correction', version: 'v7' }, versionPolicy: 'pinned' }) });
      await rtl.waitFor(() => assert.equal(container.querySelectorAll('[data-schedule-id]').length, 2));
      assert.doesNotMatch(rtl.screen.getByRole('region', { name: 'Schedule sch_aaaaaaaaaa' }).textContent ?? '', /not yet/);
      f.push({ kind: 'schedule', data: schedule('sch_aaaaaaaaaa', { lastFireAt: '2025-03-10T03:00:00.000Z', lastError: 'model "eta-correction" has no version "v9"' }) });
      await rtl.waitFor(() => assert.equal(rtl.screen.getByRole('region', { name: 'Schedule sch_aaaaaaaaaa' }).querySelector('[data-testid=schedule-last-error]')?.textContent, 'model "eta-correction" has no version "v9"'));
      assert.match(rtl.screen.getByRole('region', { name: 'Schedule sch_bbbbbbbbbb' }).textContent ?? '', /every 15 minutes.*one run/);
      assert.equal(rtl.screen.getByRole('region', { name: 'Schedule sch_bbbbbbbbbb' }).querySelector('[data-testid=schedule-version]')?.textContent, 'v7 (pinned)');
      f.push({ kind: 'schedule', data: { id: 'sch_bbbbbbbbbb', deleted: true } });
      await rtl.waitFor(() => assert.equal(container.querySelectorAll('[data-schedule-id]').length, 1));
      assert.equal(f.calls.listSchedules.length, 1, 'no polling');
    });

    it('deletes only after an inline confirmation', async () => {
      const f = fakeClient({ listSchedules: () => ({ items: [schedule('sch_aaaaaaaaaa')] }) });
      const { container } = mount(f.client, <ui.ScheduleList />);
      rtl.fireEvent.click(await rtl.screen.findByRole('button', { name: 'Delete…' }));
      assert.match((await rtl.screen.findByRole('alertdialog')).textContent ?? '', /stops firing; runs it already launched are kept/);
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: 'Keep it' }));
      assert.equal(f.calls.deleteSchedule, undefined);
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: 'Delete…' }));
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: 'Delete schedule' }));
      await rtl.waitFor(() => assert.equal(container.querySelectorAll('[data-schedule-id]').length, 0));
      assert.deepEqual(f.calls.deleteSchedule, [['sch_aaaaaaaaaa']]);
    });
  });

  describe('CostSummary', () => {
    it('shows the backend\'s weekly sums (no run listing in the browser) with pending estimates apart', async () => {
      const f = fakeClient({
        getCosts: (q: CostQuery): CostSummary => ({ from: q.from!, to: '2025-03-12', currency: 'USD', items: [
          { weekStart: '2025-03-03', model: 'eta-correction', runs: 4, pendingRuns: 0, hours: 2, actualCost: 1.5, estimatedPending: 0 },
          { weekStart: '2025-03-10', model: 'eta-correction', runs: 2, pendingRuns: 1, hours: 0.5, actualCost: 0.25, estimatedPending: 0.4 },
          { weekStart: '2025-03-10', model: 'ranker', runs: 1, pendingRuns: 0, hours: 1, actualCost: 3, estimatedPending: 0 },
        ] }),
      });
      const { container } = mount(f.client, <ui.CostSummary />);
      await rtl.screen.findByTestId('cost-summary');
      assert.equal(rtl.screen.getByTestId('cost-total').textContent, '$4.75');
      assert.match(rtl.screen.getByTestId('cost-pending').textContent ?? '', /\$0\.40 estimated for runs not finished/);
      const rows = [...container.querySelectorAll('[aria-label="Cost per model per week"] tbody tr')];
      assert.deepEqual(rows.map((r) => r.querySelector('td')?.textContent), ['ranker', 'eta-correction'], 'most expensive first');
      assert.equal(f.calls.listRuns, undefined, 'no run listing');
      const q = f.calls.getCosts[0][0] as CostQuery;
      assert.match(q.from!, /^\d{4}-\d{2}-\d{2}$/);
      assert.equal(new Date(`${q.from}T00:00:00Z`).getUTCDay(), 1, 'from a Monday');
      rtl.fireEvent.change(rtl.screen.getByLabelText('Range'), { target: { value: '52' } });
      await rtl.waitFor(() => assert.equal(f.calls.getCosts.length, 2));
      assert.ok((f.calls.getCosts[1][0] as CostQuery).from! < q.from!);
    });

    it('has an empty state', async () => {
      mount(fakeClient().client, <ui.CostSummary />);
      await rtl.screen.findByText('No costs in this range');
    });
  });

  describe('dashboard session', () => {
    it('takes the token from the fragment, keeps it, and removes it from the address bar', async () => {
      const { takeToken, parseRoute } = await import('../../shared/src/ui/dashboard/session');
      history.replaceState(null, '', '/#token=ty_secret%2Bx');
      assert.equal(takeToken(location, history, localStorage), 'ty_secret+x');
      assert.equal(location.hash, '#/');
      assert.equal(localStorage.getItem('trainyard.token'), 'ty_secret+x');
      assert.equal(takeToken(location, history, localStorage), 'ty_secret+x');
      assert.deepEqual(parseRoute('#/runs/run_abc'), { page: 'run', id: 'run_abc' });
      assert.deepEqual(parseRoute('#/launch?model=m1'), { page: 'launch', model: 'm1' });
      assert.equal(parseRoute('#/nope/x/y').page, 'missing');
      assert.deepEqual(parseRoute('#/schedules'), { page: 'schedules' });
    });
  });
});
