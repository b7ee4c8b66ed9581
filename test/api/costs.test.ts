/** GET /v1/costs over HTTP: the store's weekly sums for real runs, the default range, and 400s that say the expected form. */
import assert from 'node:assert/strict';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ApiError } from '@trainyard/shared';
import { COUNTER, removeHome, startTestBackend, waitForRuns, type TestBackend } from '../helpers/backend';

describe('GET /v1/costs', () => {
  let b: TestBackend;
  before(async () => {
    // a price of $3600/h makes a run's cost its seconds, so short runs add up to more than rounding
    b = await startTestBackend({ hardware: [{ name: 'cpu-small', cpu: 1, memory: '2Gi', pricePerHour: 3600 }] });
    await saveWorkspace(b.client, { dir: COUNTER, model: 'counter', version: 'v1' });
  });
  after(async () => {
    await b.close();
    removeHome(b.home);
  });

  it('sums finished runs per model per ISO week over the last 12 weeks by default', async () => {
    const res = await b.client.launch({ model: 'counter', params: { steps: 2, sleep: 0.05 }, sweep: { k: [1, 2] } });
    const runs = await waitForRuns(b.client, res.runs.map((r) => r.id));
    const costs = await b.client.getCosts();
    assert.equal(costs.currency, 'USD');
    assert.equal(costs.to, new Date().toISOString().slice(0, 10));
    assert.equal(new Date(`${costs.from}T00:00:00Z`).getUTCDay(), 1, 'the default range starts on a Monday');
    assert.equal(costs.items.length, 1);
    const [w] = costs.items;
    assert.equal(w.model, 'counter');
    assert.equal(w.runs, 2);
    assert.equal(w.pendingRuns, 0);
    assert.ok(w.hours > 0 && w.hours < 0.1, `hours ${w.hours}`);
    const actual = runs.reduce((s, r) => s + (r.actualCost ?? 0), 0);
    assert.ok(actual > 0.05, `actual ${actual}`);
    assert.ok(Math.abs(w.actualCost - actual) < 1e-6, `${w.actualCost} vs ${actual}`);
    const monday = new Date();
    monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
    assert.equal(w.weekStart, monday.toISOString().slice(0, 10));
    assert.deepEqual((await b.client.getCosts({ model: 'other-model' })).items, []);
    assert.deepEqual((await b.client.getCosts({ from: '2020-01-01', to: '2020-03-01' })).items, []);
  });

  it('refuses bad dates and ranges with a 400 that says the expected form', async () => {
    for (const [query, re] of [
      [{ from: '03/01/2025' }, /querystring\.from: must be a date as YYYY-MM-DD/],
      [{ to: '2025-02-30' }, /querystring\.to: must be a date as YYYY-MM-DD/],
      [{ from: '2025-03-02', to: '2025-03-01' }, /after querystring\.to/],
      [{ from: '2020-01-01', to: '2025-01-01' }, /longer than 2 years/],
      [{ model: 'Bad Name' }, /querystring\.model/],
    ] as const) {
      await assert.rejects(b.client.getCosts(query as never), (e: ApiError) => e.status === 400 && e.code === 'invalid_request' && re.test(e.message), JSON.stringify(query));
    }
    const res = await fetch(`${b.url}/v1/costs?from=2025-01-01&extra=1`, { headers: { Authorization: `Bearer ${b.token}` } });
    assert.equal(res.status, 400);
    assert.equal((await fetch(`${b.url}/v1/costs`)).status, 401);
  });
});
