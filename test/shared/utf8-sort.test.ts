/** sortByUtf8 (shared/src/utf8-sort.ts): the UTF-8 byte order of tar entries and manifests, where JS string order differs. */
import assert from 'node:assert/strict';
import { sortByUtf8 } from '@trainyard/shared/utf8-sort';

describe('sortByUtf8', () => {
  it('orders by UTF-8 bytes: a character past U+FFFF after U+FFFD (JS string order puts it first)', () => {
    const paths = ['b', 'a\u{1F600}', 'a\uFFFD', 'a/b', 'A', 'a'];
    assert.deepEqual([...paths].sort(), ['A', 'a', 'a/b', 'a\u{1F600}', 'a\uFFFD', 'b'], 'JS order, for contrast');
    assert.deepEqual(sortByUtf8(paths.map((p) => ({ p })), (x) => x.p).map((x) => x.p), ['A', 'a', 'a/b', 'a\uFFFD', 'a\u{1F600}', 'b']);
    assert.deepEqual(paths, ['b', 'a\u{1F600}', 'a\uFFFD', 'a/b', 'A', 'a'], 'the input is left as it was');
  });
});
