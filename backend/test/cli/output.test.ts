import assert from 'node:assert/strict';
import { bytes, colorEnabled, duration, money, relative, style, table, visibleLength } from '../../src/cli/output';

describe('cli output', () => {
  it('aligns table columns, upper-cases headers and leaves no trailing spaces', () => {
    const lines = table(['id', 'status', 'cost'], [
      ['run_1', 'Succeeded', '$0.0123'],
      ['run_22222', 'Failed', '-'],
    ]);
    assert.deepEqual(lines, [
      'ID         STATUS     COST',
      'run_1      Succeeded  $0.0123',
      'run_22222  Failed     -',
    ]);
  });

  it('measures coloured cells by their visible width', () => {
    const st = style(true);
    const lines = table(['a', 'b'], [[st.green('ok'), 'x'], ['longer', 'y']], st);
    assert.equal(visibleLength(lines[1]), 'longer  x'.length);
    assert.match(lines[1], /\x1b\[32mok\x1b\[39m {6}x/);
  });

  it('colours only for a TTY without NO_COLOR', () => {
    assert.equal(colorEnabled(true, {}), true);
    assert.equal(colorEnabled(true, { NO_COLOR: '' }), false);
    assert.equal(colorEnabled(false, {}), false);
    assert.equal(colorEnabled(undefined, {}), false);
    assert.equal(style(false).red('x'), 'x');
  });

  it('formats durations', () => {
    assert.equal(duration(850), '850ms');
    assert.equal(duration(1_340), '1.3s');
    assert.equal(duration(9_949), '9.9s');
    assert.equal(duration(42_000), '42s');
    assert.equal(duration(185_000), '3m 05s');
    assert.equal(duration(3_720_000), '1h 02m');
    assert.equal(duration(2 * 86400_000 + 3 * 3600_000), '2d 03h');
    assert.equal(duration(null), '-');
    assert.equal(duration(-5), '-');
  });

  it('formats money with four decimals below a dollar', () => {
    assert.equal(money(0.0123), '$0.0123');
    assert.equal(money(0.00004), '$0.0000');
    assert.equal(money(12.345), '$12.35');
    assert.equal(money(null), '-');
  });

  it('formats relative times both ways', () => {
    const now = new Date('2025-01-01T12:00:00Z');
    assert.equal(relative('2025-01-01T11:59:58Z', now), 'just now');
    assert.equal(relative('2025-01-01T11:59:30Z', now), '30s ago');
    assert.equal(relative('2025-01-01T11:55:00Z', now), '5m ago');
    assert.equal(relative('2025-01-01T15:00:00Z', now), 'in 3h');
    assert.equal(relative('2024-12-30T12:00:00Z', now), '2d ago');
    assert.equal(relative('2024-10-01T12:00:00Z', now), '2024-10-01');
    assert.equal(relative(null, now), '-');
  });

  it('formats sizes', () => {
    assert.equal(bytes(512), '512 B');
    assert.equal(bytes(4300), '4.2 KiB');
    assert.equal(bytes(50 * 1024 * 1024), '50 MiB');
  });
});
