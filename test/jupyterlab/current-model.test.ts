/**
 * The JupyterLab extension's "model of the notebook in use" (runs/current-model.ts), with a
 * notebook tracker of Lumino's own Signal and answers the test orders: late answers, a current
 * notebook that changed while the question was out, failed questions. The real extension in a
 * real JupyterLab is covered by e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { Signal } from '../../jupyterlab-ext/node_modules/@lumino/signaling';
import { followCurrentModel } from '../../jupyterlab-ext/src/runs/current-model';

type Panel = { context: { path: string; ready: Promise<void> }; isDisposed: boolean };
const panel = (path: string): Panel => ({ context: { path, ready: Promise.resolve() }, isDisposed: false });

function fakeTracker() {
  const t = { currentWidget: null as Panel | null, currentChanged: null as unknown as Signal<unknown, Panel | null> };
  t.currentChanged = new Signal<unknown, Panel | null>(t);
  return { t, show(p: Panel) { t.currentWidget = p; t.currentChanged.emit(p); } };
}

/** workspace(path) answers when the test says so */
function answers() {
  const waiting = new Map<string, Array<{ ok(model: string | null): void; fail(): void }>>();
  const asked: string[] = [];
  const times: number[] = [];
  return {
    asked,
    times,
    workspace(path: string, signal: AbortSignal) {
      asked.push(path);
      times.push(performance.now());
      return new Promise<{ remembered: { model: string } | null }>((res, rej) => {
        signal.addEventListener('abort', () => {
          waiting.set(path, (waiting.get(path) ?? []).filter((w) => w !== entry));
          rej(new DOMException('gave up', 'AbortError'));
        });
        const entry = { ok: (model: string | null) => res({ remembered: model ? { model } : null }), fail: () => rej(new Error('spawn timed out')) };
        const list = waiting.get(path) ?? [];
        list.push(entry);
        waiting.set(path, list);
      });
    },
    outstanding: (path: string) => waiting.get(path)?.length ?? 0,
    async answer(path: string, model: string | null | 'fail') {
      await new Promise((r) => setImmediate(r)); // the question goes out once the notebook's context is ready
      const next = waiting.get(path)?.shift();
      assert.ok(next, `no question about ${path} is out`);
      if (model === 'fail') next.fail();
      else next.ok(model);
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    },
  };
}

describe('JupyterLab: the model of the notebook in use', () => {
  it('takes the answer for the notebook that is current, asks again for the one current now when it changed meanwhile', async () => {
    const { t, show } = fakeTracker();
    const a = answers();
    const found: string[] = [];
    const stop = followCurrentModel({ tracker: t as never, workspace: a.workspace as never, found: (m, folder) => found.push(`${m}@${folder}`) });
    const nb = panel('eta-correction/notebook.ipynb');
    const look = panel('outputs/look.ipynb');
    show(nb);
    show(look);
    show(nb); // the tree URL activates notebook.ipynb again, late
    await a.answer('eta-correction/notebook.ipynb', 'eta-correction');
    assert.deepEqual(found, ['eta-correction@eta-correction']);
    await a.answer('outputs/look.ipynb', 'outputs'); // late: look.ipynb is not current
    assert.deepEqual(found, ['eta-correction@eta-correction']);
    assert.deepEqual(a.asked, ['eta-correction/notebook.ipynb', 'outputs/look.ipynb', 'eta-correction/notebook.ipynb'], 'the shown notebook is not asked about again');
    stop();
  });

  it('asks again when a late answer finds another notebook current, and when a question failed', async () => {
    const { t, show } = fakeTracker();
    const a = answers();
    const found: string[] = [];
    followCurrentModel({ tracker: t as never, workspace: a.workspace as never, found: (m) => found.push(m), retryMs: 5 });
    const nb = panel('eta-correction/notebook.ipynb');
    const look = panel('outputs/look.ipynb');
    show(nb);
    // notebook.ipynb stops being current without a signal for the one that replaces it reaching the follower first
    t.currentWidget = look;
    await a.answer('eta-correction/notebook.ipynb', 'eta-correction');
    assert.deepEqual(found, []);
    assert.deepEqual(a.asked, ['eta-correction/notebook.ipynb', 'outputs/look.ipynb'], 'the notebook current now is asked about');
    await a.answer('outputs/look.ipynb', 'fail');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(a.asked.at(-1), 'outputs/look.ipynb', 'asked again after a failure');
    await a.answer('outputs/look.ipynb', 'outputs');
    assert.deepEqual(found, ['outputs']);
    // a notebook without a remembered model keeps the model shown
    show(panel('scratch.ipynb'));
    await a.answer('scratch.ipynb', null);
    assert.deepEqual(found, ['outputs']);
  });

  it('gives up a question left unanswered and asks again, pausing longer each time, a few times while its notebook stays current', async () => {
    const { t, show } = fakeTracker();
    const a = answers();
    const found: string[] = [];
    const stop = followCurrentModel({ tracker: t as never, workspace: a.workspace as never, found: (m) => found.push(m), retryMs: 30, answerMs: 40, attempts: 3 });
    const nb = 'eta-correction/notebook.ipynb';
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    show(panel(nb));
    await sleep(55); // the first question is given up at 40 ms; the next one waits 30 ms
    assert.equal(a.outstanding(nb), 0, 'the question given up is no longer out');
    while (a.asked.length < 3) await sleep(5);
    const [t1, t2, t3] = a.times;
    assert.ok(t2 - t1 >= 40 + 30 - 2, `the second question after the first was given up and a pause (${t2 - t1} ms)`);
    assert.ok(t3 - t2 >= 40 + 60 - 2, `the pause doubles (${t3 - t2} ms)`);
    await a.answer(nb, 'eta-correction');
    assert.deepEqual(found, ['eta-correction']);
    stop();
  });

  it('stops asking after its attempts', async () => {
    const { t, show } = fakeTracker();
    const a = answers();
    const stop = followCurrentModel({ tracker: t as never, workspace: a.workspace as never, found: () => undefined, retryMs: 1, answerMs: 10, attempts: 3 });
    show(panel('scratch.ipynb'));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(a.asked.length, 3);
    stop();
  });
});
