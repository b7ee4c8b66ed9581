import assert from 'node:assert/strict';
import { hashSecret, hashesEqual, hintOf, newSecret, secretKind } from '../../src/auth/secret';

describe('token secrets', () => {
  it('have a scanner-friendly shape: prefix, 30 base62 characters, a 6-character checksum', () => {
    const person = newSecret('person');
    const run = newSecret('run');
    assert.match(person, /^tyk_[0-9A-Za-z]{36}$/);
    assert.match(run, /^tyr_[0-9A-Za-z]{36}$/);
    assert.equal(secretKind(person), 'person');
    assert.equal(secretKind(run), 'run');
    assert.equal(hintOf(person), person.slice(0, 8));
    assert.notEqual(newSecret('person'), person);
  });

  it('refuse a typo, a truncation or a swapped prefix through the checksum', () => {
    const t = newSecret('person');
    const i = 10;
    const typo = t.slice(0, i) + (t[i] === 'a' ? 'b' : 'a') + t.slice(i + 1);
    assert.equal(secretKind(typo), null);
    assert.equal(secretKind(t.slice(0, -1)), null);
    assert.equal(secretKind(t + 'x'), null);
    assert.equal(secretKind('tyr_' + t.slice(4)), 'run', 'the checksum covers the random part; the prefix picks the kind');
    assert.equal(secretKind('ty_' + t.slice(4)), null);
    assert.equal(secretKind(''), null);
  });

  it('spreads characters over the whole alphabet (no stuck or biased generator)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) for (const c of newSecret('person').slice(4, 34)) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 62);
    const expected = (400 * 30) / 62;
    for (const [c, n] of counts) assert.ok(n > expected * 0.6 && n < expected * 1.4, `${c} appeared ${n} times, expected about ${expected.toFixed(0)}`);
  });

  it('are stored as sha256 hex and compared in constant time', () => {
    const t = newSecret('person');
    const h = hashSecret(t);
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.equal(hashesEqual(h, hashSecret(t)), true);
    assert.equal(hashesEqual(h, hashSecret(newSecret('person'))), false);
    assert.equal(hashesEqual(h, h.slice(0, 62)), false);
  });
});
