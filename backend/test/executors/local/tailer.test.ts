// LogTailer on real files: line splitting, partial lines, long-line truncation, batch bounds,
// and resuming from stored positions without loss or repetition.
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogTailer, MAX_BATCH_LINES, MAX_LINE_BYTES, type Line, type Positions } from '../../../src/executors/local/tailer';
import { tempDir } from './helpers';

const ZERO: Positions = { stdout: { offset: 0, skipping: false }, stderr: { offset: 0, skipping: false } };

function collector() {
  const batches: Array<{ lines: Line[]; pos: Positions }> = [];
  const emit = async (lines: Line[], pos: Positions) => void batches.push({ lines, pos: structuredClone(pos) });
  const texts = (stream?: string) => batches.flatMap((b) => b.lines.filter((l) => !stream || l.stream === stream).map((l) => l.text));
  return { batches, emit, texts };
}

describe('local executor: log tailer', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir('tailer')));
  afterEach(() => tmp.remove());

  it('keeps a partial last line until its newline (or the final drain), drops \\r, keeps streams apart', async () => {
    const c = collector();
    const t = new LogTailer(tmp.path, ZERO);
    writeFileSync(join(tmp.path, 'stdout.log'), 'one\r\ntwo\nthr');
    writeFileSync(join(tmp.path, 'stderr.log'), 'e1\n');
    await t.drain(c.emit, false);
    assert.deepEqual(c.texts('stdout'), ['one', 'two']);
    assert.deepEqual(c.texts('stderr'), ['e1']);
    assert.equal(t.positions.stdout.offset, 'one\r\ntwo\n'.length);
    appendFileSync(join(tmp.path, 'stdout.log'), 'ee\nfour');
    await t.drain(c.emit, false);
    assert.deepEqual(c.texts('stdout'), ['one', 'two', 'three']);
    await t.drain(c.emit, true);
    assert.deepEqual(c.texts('stdout'), ['one', 'two', 'three', 'four']);
    await t.drain(c.emit, true);
    assert.equal(c.texts().length, 5, 'nothing is sent twice');
  });

  it('bounds batches and resumes from the positions of the last accepted batch', async () => {
    const total = MAX_BATCH_LINES * 2 + 17;
    writeFileSync(join(tmp.path, 'stdout.log'), Array.from({ length: total }, (_, i) => `line ${i}\n`).join(''));
    const c = collector();
    let calls = 0;
    const failing = async (lines: Line[], pos: Positions) => {
      if (++calls === 2) throw new Error('store down');
      await c.emit(lines, pos);
    };
    const t = new LogTailer(tmp.path, ZERO);
    await assert.rejects(t.drain(failing, false), /store down/);
    assert.equal(c.batches.length, 1);
    assert.equal(c.batches[0].lines.length, MAX_BATCH_LINES);
    // a "restarted" tailer from the stored position of the accepted batch gets the rest, once
    const t2 = new LogTailer(tmp.path, c.batches[0].pos);
    await t2.drain(c.emit, true);
    assert.ok(c.batches.every((b) => b.lines.length <= MAX_BATCH_LINES));
    assert.deepEqual(c.texts(), Array.from({ length: total }, (_, i) => `line ${i}`));
  });

  it('cuts an over-long line with a marker and skips the rest of it, also across drains', async () => {
    const long = 'é'.repeat(MAX_LINE_BYTES); // 2 bytes each: twice the cap
    writeFileSync(join(tmp.path, 'stderr.log'), `short\n${long.slice(0, MAX_LINE_BYTES * 0.75)}`);
    const c = collector();
    const t = new LogTailer(tmp.path, ZERO);
    await t.drain(c.emit, false);
    appendFileSync(join(tmp.path, 'stderr.log'), `${long.slice(MAX_LINE_BYTES * 0.75)}\nafter\n`);
    await t.drain(c.emit, false);
    const got = c.texts('stderr');
    assert.equal(got.length, 3);
    assert.equal(got[0], 'short');
    assert.match(got[1], /^é+ … \[line truncated at 65536 bytes\]$/);
    assert.ok(Buffer.byteLength(got[1]) <= MAX_LINE_BYTES + 64);
    assert.ok(!got[1].includes('\ufffd'), 'not cut inside a character');
    assert.equal(got[2], 'after');
  });
});
