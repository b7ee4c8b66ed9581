/**
 * Component behaviour on jsdom with React Testing Library: validation next to
 * the field, estimate refresh, live run events (no polling), empty and error
 * states, keyboard hardware picking, ANSI logs and search. jsdom is installed
 * for this file only (before/after), and the components are imported after it.
 */
import assert from 'node:assert/strict';
import globalJsdom from 'global-jsdom';
import type { ReactNode } from 'react';
import { ApiError } from '@trainyard/shared';
import type { Estimate, HardwareWithAvailability, LaunchRequest, LaunchResult, LogLine, Model, Run, TrainyardEvent, Version } from '@trainyard/shared';
import type * as UiModule from '../../shared/src/ui/index';
import type * as Rtl from '@testing-library/react';

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

/** A client double: each method resolves from `impl`, counts calls, and events come from push(). */
function fakeClient(impl: Record<string, (...a: any[]) => unknown> = {}) {
  const calls: Record<string, unknown[][]> = {};
  const queue: TrainyardEvent[] = [];
  let wake: (() => void) | null = null;
  const call = (name: string, dflt: (...a: any[]) => unknown) => async (...args: unknown[]) => {
    (calls[name] ??= []).push(args);
    return (impl[name] ?? dflt)(...args);
  };
  const client = {
    listModels: call('listModels', () => ({ items: [model] })),
    listVersions: call('listVersions', () => ({ items: [version('old0001', '2025-03-01T10:00:00Z', false), version('abc1234', '2025-03-02T10:00:00Z', true)] })),
    listHardware: call('listHardware', () => ({ items: [hw('cpu-small', 'fits-now'), hw('cpu-large', 'will-queue', 'all 2 slots are busy'), hw('gpu-t4', 'cannot-fit', 'no GPU nodes: this machine has no nvidia-tesla-t4')] })),
    estimate: call('estimate', (req: LaunchRequest): Estimate => {
      const runs = req.sweep ? Object.values(req.sweep).reduce((n, v) => n * v.length, 1) : 1;
      return { runs, hardware: req.hardware ?? 'cpu-small', pricePerHour: 0.5, expectedSecondsPerRun: 120, basis: 'median-of-past-runs', pastRuns: 4, totalCost: runs * 0.5 * 120 / 3600, currency: 'USD', explanation: '' };
    }),
    launch: call('launch', (): LaunchResult => ({ runs: [run('run_aaaaaaaaaa1'), run('run_aaaaaaaaaa2')], sweep: { id: 'swp_aaaaaaaaaa', model: 'eta-correction', version: 'abc1234', axes: { region: ['sfo', 'nyc'] }, size: 2, parallelism: 2, createdAt: T }, schedule: null, estimate: { runs: 2, hardware: 'cpu-small', pricePerHour: 0.5, expectedSecondsPerRun: 120, basis: 'max-duration', pastRuns: 0, totalCost: 0.03, currency: 'USD', explanation: '' } })),
    listRuns: call('listRuns', () => ({ items: [], nextCursor: null })),
    getRun: call('getRun', (id: string) => run(id)),
    cancelRun: call('cancelRun', (id: string) => run(id, { status: 'Cancelled' })),
    getLogs: call('getLogs', () => ({ lines: [], nextSeq: 0, done: true })),
    getMetrics: call('getMetrics', (id: string) => ({ runId: id, series: [] })),
    getVersion: call('getVersion', () => version('abc1234', T, true)),
    listSchedules: call('listSchedules', () => ({ items: [] })),
    async *followLogs(id: string): AsyncGenerator<LogLine> {
      (calls.followLogs ??= []).push([id]);
      const lines = (impl.logLines?.() as LogLine[] | undefined) ?? [];
      for (const l of lines) yield l;
    },
    async *events(opts: { signal?: AbortSignal } = {}): AsyncGenerator<TrainyardEvent> {
      (calls.events ??= []).push([]);
      while (!opts.signal?.aborted) {
        while (queue.length) yield queue.shift()!;
        await new Promise<void>((r) => { wake = r; opts.signal?.addEventListener('abort', () => r(), { once: true }); });
      }
    },
  };
  return { client: client as unknown as UiModule.UiClient, calls, push(e: TrainyardEvent) { queue.push(e); wake?.(); } };
}

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
    });
  });
});
