/** The line-to-cell map of a converted notebook (shared/src/snapshot/line-map.ts over notebook.ts's scripts). */
import assert from 'node:assert/strict';
import { notebookToScript } from '@trainyard/shared/snapshot/notebook';
import { scriptLineToCell } from '@trainyard/shared/snapshot/line-map';

const nb = (cells: Array<[string, string]>) => JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: cells.map(([t, s]) => ({ cell_type: t, source: s, metadata: {}, ...(t === 'code' ? { outputs: [], execution_count: null } : {}) })) });

describe('notebook line-to-cell map', () => {
  const text = nb([
    ['markdown', '# Title'],
    ['code', 'import math\nx = math.sqrt(4)'],
    ['markdown', 'more words'],
    ['code', '%%time\ny = x * 2\n%matplotlib inline\nraise ValueError(y)'],
  ]);
  const script = notebookToScript(text, 'work/fail.ipynb');
  const lines = script.split('\n');
  const lineOf = (code: string) => lines.indexOf(code) + 1;

  it('maps every code line of the script back to its notebook cell and line', () => {
    assert.deepEqual(scriptLineToCell(script, lineOf('import math')), { notebook: 'work/fail.ipynb', cell: 2, line: 1 });
    assert.deepEqual(scriptLineToCell(script, lineOf('x = math.sqrt(4)')), { notebook: 'work/fail.ipynb', cell: 2, line: 2 });
  });

  it('counts the dropped %%time line and rewritten magics', () => {
    assert.deepEqual(scriptLineToCell(script, lineOf('y = x * 2')), { notebook: 'work/fail.ipynb', cell: 4, line: 2 });
    assert.deepEqual(scriptLineToCell(script, lineOf('raise ValueError(y)')), { notebook: 'work/fail.ipynb', cell: 4, line: 4 });
  });

  it('has no cell for the header, the markers, out-of-range lines or other scripts', () => {
    assert.equal(scriptLineToCell(script, 2), null);
    assert.equal(scriptLineToCell(script, lineOf('import math') - 1), null);
    assert.equal(scriptLineToCell(script, 0), null);
    assert.equal(scriptLineToCell(script, lines.length + 1), null);
    assert.equal(scriptLineToCell('import os\n# cell 2\nx = 1\n', 3), null);
  });
});
