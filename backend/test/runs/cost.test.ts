import assert from 'node:assert/strict';
import { actualCost, estimate, median } from '../../src/runs/cost';

const profile = { name: 'cpu-small', cpu: 1, memory: '2Gi', pricePerHour: 0.36 };

describe('cost', () => {
  it('prices a finished run by its wall-clock time', () => {
    assert.equal(actualCost(0.36, '2026-01-01T00:00:00.000Z', '2026-01-01T00:10:00.000Z'), 0.06);
    assert.equal(actualCost(0.36, null, '2026-01-01T00:10:00.000Z'), 0, 'a run that never started costs nothing');
  });

  it('takes the median of past runs when there are any', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    const e = estimate(3, profile, 3600, [100, 300, 200]);
    assert.equal(e.basis, 'median-of-past-runs');
    assert.equal(e.pastRuns, 3);
    assert.equal(e.expectedSecondsPerRun, 200);
    assert.equal(e.totalCost, 0.06);
    assert.match(e.explanation, /median of the last 3/);
  });

  it('falls back to the max duration and says so', () => {
    const e = estimate(2, profile, 1800, []);
    assert.equal(e.basis, 'max-duration');
    assert.equal(e.totalCost, 0.36);
    assert.match(e.explanation, /upper bound/);
  });
});
