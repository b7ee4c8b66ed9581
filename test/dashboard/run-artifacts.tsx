/**
 * The artifacts surfaces of the shared components on jsdom (React Testing Library): RunDetails'
 * Artifacts section (tree, sizes, total, the note, pending/none/failed, a saver's progress and
 * outcome, re-listing when the run ends), the input-run link, the launch form's "Use a trained
 * model" field sent as fromRun, and the browser download's size and sha256 check. The client
 * is the fake of test/helpers/fake-client.ts: the real API is covered by test/api/artifacts.test.ts and the
 * dashboard e2e.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ReactNode } from 'react';
import type { ArtifactFile, ArtifactList, LaunchRequest, Run, TrainyardEvent } from '@trainyard/shared';
import type * as UiModule from '../../shared/src/ui/index';
import type * as Rtl from '@testing-library/react';
import { createFakeClient, type FakeAnswers } from '../helpers/fake-client';

let ui: typeof UiModule;
let rtl: typeof Rtl;

const T = '2025-03-03T10:00:00.000Z';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const run = (id: string, patch: Partial<Run> = {}): Run => ({
  id, model: 'outputs', version: 'v1', entrypoint: 'train', command: 'python train.py', params: {}, hardware: 'cpu-small',
  status: 'Succeeded', reason: null, sweepId: null, sweepIndex: null, scheduleId: null, executor: 'local', maxDurationSeconds: 3600,
  exitCode: 0, createdBy: 'me', createdAt: T, startedAt: T, finishedAt: '2025-03-03T10:01:00.000Z', pricePerHour: 0.05, estimatedCost: 0.05, actualCost: 0.001, ...patch,
});
const file = (path: string, content: string): ArtifactFile => ({ path, size: Buffer.byteLength(content), sha256: sha(content) });
const stored = (runId: string, files: ArtifactFile[], note: string | null = null): ArtifactList => ({
  runId, state: 'stored', ref: `oci-layout:/x/images:outputs:run-${runId}`, digest: `sha256:${'b'.repeat(64)}`, files, totalBytes: files.reduce((n, f) => n + f.size, 0), note,
});

/** The fake client of test/helpers/fake-client.ts with this file's answers (one model, "outputs", whose runs succeeded). */
const fakeClient = (answers: FakeAnswers = {}) => createFakeClient({
  listModels: () => ({ items: [{ name: 'outputs', team: null, description: null, createdBy: 'me', createdAt: T, latestVersion: 'v1', versionCount: 1, runCount: 3 }] }),
  listVersions: () => ({ items: [{ model: 'outputs', label: 'v1', imageRef: 'oci-layout:/x:v1', digest: `sha256:${'a'.repeat(64)}`, baseImage: null, baseDigest: null, entrypoints: { train: 'python train.py', predict: 'python predict.py' }, git: { sha: null, dirty: false }, sizeBytes: 10, fileCount: 2, createdBy: 'me', createdAt: T }] }),
  listHardware: () => ({ items: [{ name: 'cpu-small', cpu: 1, memory: '2Gi', pricePerHour: 0.5, availability: { status: 'fits-now', slots: 2, reason: '' } }] }),
  estimate: () => ({ runs: 1, hardware: 'cpu-small', pricePerHour: 0.5, expectedSecondsPerRun: 60, basis: 'max-duration', pastRuns: 0, totalCost: 0.01, currency: 'USD', explanation: '' }),
  launch: (req: LaunchRequest) => ({ runs: [run('run_launched01', { entrypoint: req.entrypoint ?? 'train', status: 'Pending' })], sweep: null, schedule: null, estimate: { runs: 1, hardware: 'cpu-small', pricePerHour: 0.5, expectedSecondsPerRun: 60, basis: 'max-duration', pastRuns: 0, totalCost: 0.01, currency: 'USD', explanation: '' } }),
  listRuns: () => ({ items: [], nextCursor: null }),
  getRun: (id: string) => run(id),
  cancelRun: (id: string) => run(id, { status: 'Cancelled' }),
  getLogs: () => ({ lines: [], nextSeq: 0, done: true }),
  getMetrics: (id: string) => ({ runId: id, series: [] }),
  getVersion: () => ({ model: 'outputs', label: 'v1', imageRef: 'oci-layout:/x:v1', digest: `sha256:${'a'.repeat(64)}`, baseImage: null, baseDigest: null, entrypoints: { train: 'python train.py' }, git: { sha: null, dirty: false }, sizeBytes: 10, fileCount: 2, createdBy: 'me', createdAt: T }),
  listSchedules: () => ({ items: [] }),
  deleteSchedule: (id: string) => ({ id, deleted: true }),
  getCosts: () => ({ from: '2025-01-06', to: '2025-03-26', currency: 'USD', items: [] }),
  listArtifacts: (id: string) => ({ runId: id, state: 'none', ref: null, digest: null, files: [], totalBytes: 0, note: null }),
}, answers);

function mount(client: UiModule.UiClient, node: ReactNode, savers: UiModule.ArtifactSaver[] = []) {
  return rtl.render(<ui.TrainyardUi client={client} theme="light" savers={savers}>{node}</ui.TrainyardUi>);
}

/**
 * Registered inside ui.test.tsx's suite, on its jsdom: React Testing Library binds to the document
 * it was first imported with, so two jsdom set-ups in one process would leave the second file
 * rendering into a closed document.
 */
export function artifactTests(env: () => { ui: typeof UiModule; rtl: typeof Rtl }): void {
  describe('artifacts in the shared UI (jsdom)', function () {
    this.timeout(20000);
    before(() => {
      ({ ui, rtl } = env());
    });
    afterEach(() => rtl.cleanup());

    it('lists the files as a tree with human sizes, the total and what was dropped', async () => {
      const files = [file('same.txt', 'the same in every run\n'), file('parts/part-0001.txt', 'x'.repeat(1536)), file('parts/part-0000.txt', 'y'.repeat(3 << 20))];
      const f = fakeClient({ listArtifacts: (id: string) => stored(id, files, 'dropped 2 files over artifacts.maxFiles (20): parts/part-0020.txt, parts/part-0021.txt') });
      mount(f.client, <ui.RunDetails runId="run_aaaaaaaaaa1" />);
      const table = await rtl.screen.findByRole('table', { name: 'Artifact files' });
      const rows = [...table.querySelectorAll('tbody tr')].map((tr) => tr.getAttribute('data-artifact-dir') ? `dir ${tr.getAttribute('data-artifact-dir')}` : tr.getAttribute('data-artifact'));
      assert.deepEqual(rows, ['dir parts', 'parts/part-0000.txt', 'parts/part-0001.txt', 'same.txt']);
      const size = (p: string) => table.querySelector(`[data-artifact="${p}"] [data-testid=artifact-size]`)!.textContent;
      assert.equal(size('parts/part-0000.txt'), '3.0 MiB');
      assert.equal(size('parts/part-0001.txt'), '1.5 KiB');
      assert.equal(size('same.txt'), '22 B');
      assert.match(rtl.screen.getByTestId('artifacts-total').textContent!, /^3 files, 3\.0 MiB in all · oci-layout:/);
      assert.match(rtl.screen.getByTestId('artifacts-note').textContent!, /Not everything was kept: dropped 2 files over artifacts\.maxFiles \(20\)/);
      // no savers given: listed without buttons
      assert.equal(table.querySelectorAll('button').length, 0);
    });

    it('says pending, none and failed in words', async () => {
      const states: ArtifactList[] = [
        { runId: 'run_p', state: 'pending', ref: null, digest: null, files: [], totalBytes: 0, note: null },
        { runId: 'run_n', state: 'none', ref: null, digest: null, files: [], totalBytes: 0, note: null },
        { runId: 'run_f', state: 'failed', ref: null, digest: null, files: [], totalBytes: 0, note: 'the image store refused the push: disk full' },
      ];
      const f = fakeClient({ getRun: (id: string) => run(id, id === 'run_p' ? { status: 'Running', finishedAt: null } : {}), listArtifacts: (id: string) => states.find((s) => s.runId === id) });
      mount(f.client, <ui.RunDetails runId="run_p" />);
      assert.match((await rtl.screen.findByTestId('artifacts-pending')).textContent!, /Kept when the run ends\. A run keeps the files it writes under TRAINYARD_OUTPUT_DIR/);
      rtl.cleanup();
      mount(f.client, <ui.RunDetails runId="run_n" />);
      assert.match((await rtl.screen.findByTestId('artifacts-none')).textContent!, /This run kept no files/);
      rtl.cleanup();
      mount(f.client, <ui.RunDetails runId="run_f" />);
      assert.equal((await rtl.screen.findByTestId('artifacts-failed')).textContent, 'The files of this run could not be kept: the image store refused the push: disk full');
    });

    it('lists the files again when the run ends', async () => {
      let ended = false;
      const files = [file('model.txt', 'weights\n')];
      const f = fakeClient({
        getRun: (id: string) => run(id, { status: 'Running', finishedAt: null }),
        listArtifacts: (id: string) => (ended ? stored(id, files) : { runId: id, state: 'pending', ref: null, digest: null, files: [], totalBytes: 0, note: null }),
      });
      mount(f.client, <ui.RunDetails runId="run_aaaaaaaaaa1" />);
      await rtl.screen.findByTestId('artifacts-pending');
      ended = true;
      f.push({ kind: 'run', data: run('run_aaaaaaaaaa1') } as TrainyardEvent);
      await rtl.waitFor(() => assert.ok(document.querySelector('[data-artifact="model.txt"]')), { timeout: 5000 });
      assert.equal(f.calls.listArtifacts.length, 2);
    });

    it('saves a file with each saver, showing progress, then where it went or why not', async () => {
      const files = [file('model.txt', 'weights\n')];
      const f = fakeClient({ listArtifacts: (id: string) => stored(id, files) });
      let release!: () => void;
      const got: Array<[string, string]> = [];
      const savers: UiModule.ArtifactSaver[] = [
        { label: 'Download', async save(r, fl, { onProgress }) { got.push([r.id, fl.path]); onProgress?.(4); await new Promise<void>((res) => (release = res)); onProgress?.(8); return 'downloaded model.txt, sha256 verified'; } },
        { label: 'Save to folder', async save() { throw new Error('model.txt: the download\'s sha256 is 00, but the run kept 11; try again'); } },
      ];
      mount(f.client, <ui.RunDetails runId="run_aaaaaaaaaa1" />, savers);
      rtl.fireEvent.click(await rtl.screen.findByRole('button', { name: 'Download model.txt' }));
      assert.equal((await rtl.screen.findByTestId('artifact-progress')).textContent, '50% of 8 B');
      assert.ok((rtl.screen.getByRole('button', { name: 'Save to folder model.txt' }) as HTMLButtonElement).disabled, 'one save at a time per file');
      release();
      assert.equal((await rtl.screen.findByTestId('artifact-saved')).textContent, '✓ downloaded model.txt, sha256 verified');
      assert.equal(rtl.screen.queryByTestId('artifact-progress'), null);
      assert.deepEqual(got, [['run_aaaaaaaaaa1', 'model.txt']]);
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: 'Save to folder model.txt' }));
      assert.match((await rtl.screen.findByTestId('artifact-error')).textContent!, /^Save to folder failed: model\.txt: the download's sha256 is 00/);
    });

    it('links the training run whose artifacts a run read', async () => {
      const f = fakeClient({ getRun: (id: string) => run(id, { entrypoint: 'predict', inputRunId: 'run_trained001' }) });
      mount(f.client, <ui.RunDetails runId="run_aaaaaaaaaa1" />);
      const input = await rtl.screen.findByTestId('run-input');
      assert.equal(input.textContent, 'the artifacts of run run_trained001');
      assert.equal(input.querySelector('a')!.getAttribute('href'), '#/runs/run_trained001');
      rtl.cleanup();
      mount(fakeClient().client, <ui.RunDetails runId="run_aaaaaaaaaa2" />);
      await rtl.screen.findByTestId('run-details');
      assert.equal(rtl.screen.queryByTestId('run-input'), null);
    });

    it('offers a trained model for entrypoints other than train and sends it as fromRun', async () => {
      const runs = [
        run('run_train0002', { finishedAt: '2025-03-03T12:00:00.000Z' }), run('run_pred00001', { entrypoint: 'predict' }), run('run_train0001'),
      ];
      const f = fakeClient({ listRuns: () => ({ items: runs, nextCursor: null }) });
      mount(f.client, <ui.LaunchForm estimateDelayMs={0} />);
      // the version's own entrypoints are listed once the form has picked it (until then only train is)
      await rtl.screen.findByRole('option', { name: 'predict' });
      assert.equal(rtl.screen.queryByLabelText('Use a trained model'), null, 'not for train');
      // in act(): React applies the state change before the next query (in this suite's jsdom it may not otherwise)
      await rtl.act(async () => {
        rtl.fireEvent.change(rtl.screen.getByLabelText('Entrypoint'), { target: { value: 'predict' } });
      });
      const pick = await rtl.screen.findByLabelText('Use a trained model') as HTMLSelectElement;
      await rtl.waitFor(() => assert.equal(pick.options.length, 4));
      assert.deepEqual([...pick.options].map((o) => o.value), ['', 'latest', 'run_train0002', 'run_train0001']);
      assert.match(pick.options[1].textContent!, /latest succeeded training run \(now run_train0002\)/);
      assert.deepEqual(f.calls.listRuns.at(-1), [{ model: 'outputs', status: 'Succeeded', limit: 200 }]);
      rtl.fireEvent.change(pick, { target: { value: 'latest' } });
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: 'Launch run' }));
      await rtl.screen.findByTestId('launch-result');
      const sent = f.calls.launch[0][0] as LaunchRequest;
      assert.equal(sent.entrypoint, 'predict');
      assert.equal(sent.fromRun, 'latest');
      // back to train: fromRun is not sent
      rtl.fireEvent.change(rtl.screen.getByLabelText('Entrypoint'), { target: { value: 'train' } });
      rtl.fireEvent.click(rtl.screen.getByRole('button', { name: 'Launch run' }));
      await rtl.waitFor(() => assert.equal(f.calls.launch.length, 2));
      assert.equal((f.calls.launch[1][0] as LaunchRequest).fromRun, undefined);
    });

    it('refuses a browser download whose bytes are not the listed ones', async () => {
      const ok = file('model.txt', 'weights\n');
      const body = (s: string) => new Response(s);
      const { blob, hashed } = await ui.fetchVerifiedBlob(body('weights\n'), ok);
      assert.equal(hashed, true);
      assert.equal(await blob.text(), 'weights\n');
      await assert.rejects(ui.fetchVerifiedBlob(body('weightz\n'), ok), /model\.txt: the download's sha256 is [0-9a-f]{64}, but the run kept/);
      await assert.rejects(ui.fetchVerifiedBlob(body('weights'), ok), /model\.txt: got 7 bytes, but the run kept 8/);
    });
  });
}
