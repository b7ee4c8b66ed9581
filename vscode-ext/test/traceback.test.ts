/** Traceback frames in log lines, and image paths mapped to workspace files. */
import assert from 'node:assert/strict';
import { findFrames } from '@trainyard/shared/ui/traceback';
import { candidatesFor, mapFrame } from '../src/traceback';

describe('traceback mapping', () => {
  it('finds each frame with its span, path and line', () => {
    const text = '  File "/app/train.py", line 14, in <module>';
    const [f, ...rest] = findFrames(text);
    assert.deepEqual(rest, []);
    assert.equal(f.path, '/app/train.py');
    assert.equal(f.line, 14);
    assert.equal(text.slice(f.start, f.end), '"/app/train.py", line 14');
    assert.deepEqual(findFrames('Traceback (most recent call last):'), []);
    assert.deepEqual(findFrames('File "x.py", line 0'), []);
    assert.equal(findFrames('File "a.py", line 1 ... File "b.py", line 2').length, 2);
  });

  it('maps image and sandbox paths to workspace-relative candidates, longest first', () => {
    assert.deepEqual(candidatesFor('/app/train.py'), ['train.py']);
    assert.deepEqual(candidatesFor('/home/u/.trainyard/runs/run_1/root/app/pkg/model.py'), ['pkg/model.py']);
    assert.deepEqual(candidatesFor('/app/app/main.py'), ['app/main.py', 'main.py']);
    assert.deepEqual(candidatesFor('/usr/lib/python3.11/json/decoder.py'), []);
    assert.deepEqual(candidatesFor('/app/../etc/passwd'), []);
  });

  it('picks the first candidate that exists in the workspace', async () => {
    const files = new Set(['main.py', 'pkg/model.py']);
    assert.equal(await mapFrame('/app/app/main.py', async (p) => files.has(p)), 'main.py');
    assert.equal(await mapFrame('/x/root/app/pkg/model.py', async (p) => files.has(p)), 'pkg/model.py');
    assert.equal(await mapFrame('/app/missing.py', async (p) => files.has(p)), null);
  });
});
