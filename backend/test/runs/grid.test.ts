import assert from 'node:assert/strict';
import { expandGrid, gridSize } from '../../src/runs/grid';
import { HttpError } from '../../src/errors';

describe('sweep grid', () => {
  it('expands the cartesian product in a stable order, last axis fastest', () => {
    const points = expandGrid({ lr: 0.1 }, { region: ['sfo', 'nyc'], depth: [1, 2, 3] });
    assert.equal(points.length, 6);
    assert.deepEqual(points[0], { lr: 0.1, region: 'sfo', depth: 1 });
    assert.deepEqual(points[1], { lr: 0.1, region: 'sfo', depth: 2 });
    assert.deepEqual(points[5], { lr: 0.1, region: 'nyc', depth: 3 });
  });

  it('is a single run without axes', () => {
    assert.deepEqual(expandGrid({ a: 1 }, undefined), [{ a: 1 }]);
  });

  it('refuses empty axes, duplicate values and a key both fixed and swept', () => {
    assert.throws(() => expandGrid({}, { region: [] }), (e: HttpError) => e.code === 'invalid_request' && /no values/.test(e.message));
    assert.throws(() => expandGrid({}, { region: ['a', 'a'] }), /lists a value twice/);
    assert.throws(() => expandGrid({ region: 'x' }, { region: ['a'] }), /both fixed/);
  });

  it('refuses a grid over 10,000 points unless overridden, and caps the override', () => {
    const axes = { a: Array.from({ length: 101 }, (_, i) => i), b: Array.from({ length: 100 }, (_, i) => i) };
    assert.equal(gridSize(axes), 10100);
    assert.throws(() => expandGrid({}, axes), (e: HttpError) => /over the limit of 10000/.test(e.message) && /allow-large-sweep/.test(e.message));
    assert.equal(expandGrid({}, axes, true).length, 10100);
    const huge = { ...axes, c: Array.from({ length: 10 }, (_, i) => i) };
    assert.throws(() => expandGrid({}, huge, true), /hard limit is 100000/);
  });
});
