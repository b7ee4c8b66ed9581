// The pure rules of reading on in a pod's log (log-cursor.ts): timestamps in one sortable form,
// repeats of a resumed read dropped by time and text, and a gap seen where a read begins past
// the cursor (its line rotated away).
import assert from 'node:assert/strict';
import { canonicalTs, cursorOf, gapLine, LogReader, parseTimedLine, sinceTimeOf, type LogCursor } from '../../../src/executors/kubernetes/log-cursor';

/** what a read from the cursor archives: the new texts, and the gap it saw */
function read(cursor: LogCursor, raw: string[]) {
  const r = new LogReader(cursor);
  const fresh: string[] = [];
  const gaps: string[] = [];
  for (const x of raw) {
    const { fresh: isNew, gap } = r.accept(parseTimedLine(x));
    if (gap) gaps.push(`${gap.from} -> ${gap.to}`);
    if (isNew) fresh.push(parseTimedLine(x).text);
  }
  return { fresh, gaps, at: r.position };
}

const T = (s: string, frac = '0') => `2026-12-01T01:00:${s}.${frac.padEnd(9, '0')}Z`;

describe('kubernetes logs: the cursor', () => {
  it('puts timestamps in one form that sorts as text, whatever their precision or zone', () => {
    assert.equal(canonicalTs('2026-12-01T01:00:05.5Z'), '2026-12-01T01:00:05.500000000Z');
    assert.equal(canonicalTs('2026-12-01T01:00:05Z'), '2026-12-01T01:00:05.000000000Z');
    assert.equal(canonicalTs('2026-12-01T02:00:05.123456789+01:00'), '2026-12-01T01:00:05.123456789Z');
    assert.equal(canonicalTs('yesterday'), null);
    assert.ok(canonicalTs('2026-12-01T01:00:05.1Z')! > canonicalTs('2026-12-01T01:00:05.09Z')!);
    assert.deepEqual(parseTimedLine('2026-12-01T01:00:05.1Z  two spaces kept'), { ts: T('05', '100000000'), text: ' two spaces kept' });
    assert.deepEqual(parseTimedLine('no time here'), { ts: null, text: 'no time here' });
  });

  it('resumes at the whole second (what the API honours) and drops the repeats of that second', () => {
    const first = read({ lastTs: null, atLast: [] }, [`${T('01', '1')} a`, `${T('02', '100')} b`, `${T('02', '200')} c`]);
    assert.deepEqual(first.fresh, ['a', 'b', 'c']);
    assert.equal(sinceTimeOf(first.at), '2026-12-01T01:00:02Z');
    // the resumed read starts at 01:00:02: b and c again, then d
    const second = read(first.at, [`${T('02', '100')} b`, `${T('02', '200')} c`, `${T('03')} d`]);
    assert.deepEqual(second.fresh, ['d']);
    assert.deepEqual(second.gaps, []);
  });

  it('keeps equal lines at one instant apart (a multiset): one archived, one new', () => {
    const first = read({ lastTs: null, atLast: [] }, [`${T('04')} tick`]);
    const second = read(first.at, [`${T('04')} tick`, `${T('04')} tick`, `${T('04')} tock`]);
    assert.deepEqual(second.fresh, ['tick', 'tock']);
    assert.deepEqual(second.at, { lastTs: T('04'), atLast: ['tick', 'tick', 'tock'] });
    assert.deepEqual(read(second.at, [`${T('04')} tick`, `${T('04')} tick`, `${T('04')} tock`]).fresh, [], 'a third read adds nothing');
  });

  it('sees a gap when a resumed read begins past the cursor (its line was rotated away), and only then', () => {
    const at: LogCursor = { lastTs: T('10', '5'), atLast: ['last archived'] };
    const rotated = read(at, [`${T('12')} first of the new file`, `${T('13')} next`]);
    assert.deepEqual(rotated.gaps, [`${T('10', '5')} -> ${T('12')}`]);
    assert.deepEqual(rotated.fresh, ['first of the new file', 'next']);
    assert.match(gapLine('p-1', { from: T('10', '5'), to: T('12') }), /rotated .* may be missing/);
    assert.deepEqual(read(at, [`${T('10', '5')} last archived`, `${T('12')} on`]).gaps, [], 'the file still holds the cursor line');
    assert.deepEqual(read(at, [`${T('10', '1')} older, same second`, `${T('12')} on`]).gaps, [], 'a read from the cursor second');
    assert.deepEqual(read({ lastTs: null, atLast: [] }, [`${T('12')} x`]).gaps, [], 'nothing archived yet: nothing to miss');
    assert.deepEqual(read(at, []).gaps, []);
  });

  it('keeps a line without a timestamp, and reads a stored cursor back (anything else is a fresh one)', () => {
    const r = read({ lastTs: T('01'), atLast: ['x'] }, ['stray text']);
    assert.deepEqual(r.fresh, ['stray text']);
    assert.deepEqual(r.at, { lastTs: T('01'), atLast: ['x'] });
    assert.deepEqual(cursorOf({ pod: 'p', lastTs: '2026-12-01T01:00:01.5Z', atLast: ['a', 3] }), { lastTs: T('01', '5'), atLast: ['a'] });
    assert.deepEqual(cursorOf({ pod: 'p', logLines: 12 }), { lastTs: null, atLast: [] });
    assert.deepEqual(cursorOf(null), { lastTs: null, atLast: [] });
  });
});
