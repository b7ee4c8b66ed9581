import assert from 'node:assert/strict';
import { gridPoints, gridSize, parseEntrypoints, parseIntOption, parseModelRef, parseParams, parseSweeps, typeValue } from '../../src/cli/args';
import { UsageError } from '../../src/cli/errors';

describe('cli args', () => {
  it('types param values: integers and floats are numbers, true/false booleans, else strings', () => {
    assert.equal(typeValue('3'), 3);
    assert.equal(typeValue('-12'), -12);
    assert.equal(typeValue('0.01'), 0.01);
    assert.equal(typeValue('1e-3'), 0.001);
    assert.equal(typeValue('.5'), 0.5);
    assert.equal(typeValue('true'), true);
    assert.equal(typeValue('false'), false);
    assert.equal(typeValue('True'), 'True');
    assert.equal(typeValue('sfo'), 'sfo');
    assert.equal(typeValue('1.2.3'), '1.2.3');
    assert.equal(typeValue(''), '');
    assert.equal(typeValue('12345678901234567890'), '12345678901234567890', 'unsafe integers stay strings');
  });

  it('parses --param KEY=VALUE, keeps "=" inside values and allows an empty value', () => {
    assert.deepEqual(parseParams(['lr=0.01', 'epochs=5', 'region=sfo', 'note=', 'expr=a=b', 'shuffle=false']), {
      lr: 0.01,
      epochs: 5,
      region: 'sfo',
      note: '',
      expr: 'a=b',
      shuffle: false,
    });
  });

  it('rejects a --param without "=" or with a bad key, saying the expected form', () => {
    assert.throws(() => parseParams(['lr']), (e: Error) => e instanceof UsageError && /--param expects KEY=VALUE \(got "lr"\)/.test(e.message));
    assert.throws(() => parseParams(['=3']), (e: Error) => e instanceof UsageError && /KEY=VALUE.*got key ""/.test(e.message));
    assert.throws(() => parseParams(['9lives=1']), (e: Error) => e instanceof UsageError && /got key "9lives"/.test(e.message));
    assert.throws(() => parseParams(['a=1', 'a=2']), /--param a is given twice/);
  });

  it('splits --sweep values on commas, types them, and repeated flags form a grid', () => {
    const sweep = parseSweeps(['region=sfo,nyc,sea', 'lr=0.1,0.01']);
    assert.deepEqual(sweep, { region: ['sfo', 'nyc', 'sea'], lr: [0.1, 0.01] });
    assert.equal(gridSize(sweep), 6);
    const points = gridPoints(sweep!);
    assert.equal(points.length, 6);
    assert.deepEqual(points[0], { region: 'sfo', lr: 0.1 });
    assert.deepEqual(points[5], { region: 'sea', lr: 0.01 });
    assert.equal(new Set(points.map((p) => JSON.stringify(p))).size, 6, 'every point differs');
    assert.equal(parseSweeps([]), undefined);
    assert.equal(gridSize(undefined), 1);
  });

  it('rejects empty sweep values and repeated axes', () => {
    assert.throws(() => parseSweeps(['region=sfo,,sea']), (e: Error) => e instanceof UsageError && /empty value/.test(e.message));
    assert.throws(() => parseSweeps(['region=']), /empty value/);
    assert.throws(() => parseSweeps(['region=sfo,']), /empty value/);
    assert.throws(() => parseSweeps(['region']), /--sweep expects KEY=V1,V2,\.\.\. \(got "region"\)/);
    assert.throws(() => parseSweeps(['a=1', 'a=2']), /given twice/);
  });

  it('parses MODEL[:VERSION] and rejects bad names', () => {
    assert.deepEqual(parseModelRef('eta-correction'), { model: 'eta-correction' });
    assert.deepEqual(parseModelRef('eta-correction:abc123+dirty.ff00'), { model: 'eta-correction', version: 'abc123+dirty.ff00' });
    assert.throws(() => parseModelRef('Eta'), (e: Error) => e instanceof UsageError && /MODEL\[:VERSION\]/.test(e.message));
    assert.throws(() => parseModelRef('eta:'), /VERSION/);
    assert.throws(() => parseModelRef('eta:a/b'), /VERSION/);
  });

  it('parses whole numbers within a range', () => {
    assert.equal(parseIntOption('--parallelism', '4', 1, 10), 4);
    assert.equal(parseIntOption('--parallelism', undefined, 1, 10), undefined);
    assert.throws(() => parseIntOption('--parallelism', '0', 1, 10), /--parallelism expects a whole number from 1 to 10 \(got "0"\)/);
    assert.throws(() => parseIntOption('--parallelism', '2.5', 1, 10), UsageError);
    assert.throws(() => parseIntOption('--parallelism', 'x', 1, 10), UsageError);
  });

  it('parses --entrypoint NAME=COMMAND', () => {
    assert.deepEqual(parseEntrypoints(['train=python train.py --fast', 'predict=python predict.py']), {
      train: 'python train.py --fast',
      predict: 'python predict.py',
    });
    assert.equal(parseEntrypoints([]), undefined);
    assert.throws(() => parseEntrypoints(['train']), /NAME=COMMAND/);
    assert.throws(() => parseEntrypoints(['train=']), /NAME=COMMAND/);
    assert.throws(() => parseEntrypoints(['Train=x']), /NAME=COMMAND/);
  });
});
