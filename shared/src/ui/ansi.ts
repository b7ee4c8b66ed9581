/**
 * ANSI SGR colours -> styled segments (classes for the 16 theme colours,
 * inline colour for 256/true colour); every other escape sequence is dropped.
 */
export interface Seg { text: string; cls: string; color?: string; background?: string }

const ESC = /\x1b\[([0-9;]*)([A-Za-z])|\x1b\][^\x07]*(\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\r/g;

interface Sgr { fg?: number | string; bg?: number | string; b?: boolean; dim?: boolean; i?: boolean; u?: boolean }

function xterm256(n: number): string {
  if (n < 16) return `var(--ty-ansi-${n})`;
  if (n >= 232) { const v = 8 + (n - 232) * 10; return `rgb(${v},${v},${v})`; }
  const c = n - 16;
  const f = (x: number) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${f(Math.floor(c / 36))},${f(Math.floor(c / 6) % 6)},${f(c % 6)})`;
}

function apply(s: Sgr, codes: number[]): Sgr {
  const n: Sgr = { ...s };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) { for (const k of Object.keys(n)) delete (n as Record<string, unknown>)[k]; }
    else if (c === 1) n.b = true;
    else if (c === 2) n.dim = true;
    else if (c === 3) n.i = true;
    else if (c === 4) n.u = true;
    else if (c === 22) { n.b = false; n.dim = false; }
    else if (c === 23) n.i = false;
    else if (c === 24) n.u = false;
    else if (c >= 30 && c <= 37) n.fg = c - 30;
    else if (c >= 90 && c <= 97) n.fg = c - 90 + 8;
    else if (c === 39) delete n.fg;
    else if (c >= 40 && c <= 47) n.bg = c - 40;
    else if (c >= 100 && c <= 107) n.bg = c - 100 + 8;
    else if (c === 49) delete n.bg;
    else if ((c === 38 || c === 48) && codes[i + 1] === 5) { const v = xterm256(codes[i + 2] ?? 0); if (c === 38) n.fg = v; else n.bg = v; i += 2; }
    else if ((c === 38 || c === 48) && codes[i + 1] === 2) { const v = `rgb(${codes[i + 2] ?? 0},${codes[i + 3] ?? 0},${codes[i + 4] ?? 0})`; if (c === 38) n.fg = v; else n.bg = v; i += 4; }
  }
  return n;
}

function toSeg(text: string, s: Sgr): Seg {
  const cls: string[] = [];
  if (s.b) cls.push('ty-b');
  if (s.dim) cls.push('ty-dim');
  if (s.i) cls.push('ty-i');
  if (s.u) cls.push('ty-u');
  const seg: Seg = { text, cls: '' };
  if (typeof s.fg === 'number') cls.push(`ty-fg-${s.fg}`);
  else if (s.fg) seg.color = s.fg;
  if (typeof s.bg === 'number' && s.bg < 8) cls.push(`ty-bg-${s.bg}`);
  else if (typeof s.bg === 'number') seg.background = `var(--ty-ansi-${s.bg})`;
  else if (s.bg) seg.background = s.bg;
  seg.cls = cls.join(' ');
  return seg;
}

export function parseAnsi(line: string): Seg[] {
  if (line.indexOf('\x1b') < 0 && line.indexOf('\r') < 0) return [{ text: line, cls: '' }];
  const out: Seg[] = [];
  let state: Sgr = {};
  let last = 0;
  ESC.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = ESC.exec(line))) {
    if (m.index > last) out.push(toSeg(line.slice(last, m.index), state));
    if (m[2] === 'm') state = apply(state, (m[1] || '0').split(';').map((x) => Number(x) || 0));
    last = ESC.lastIndex;
  }
  if (last < line.length) out.push(toSeg(line.slice(last), state));
  return out;
}

export function stripAnsi(line: string): string {
  return line.indexOf('\x1b') < 0 && line.indexOf('\r') < 0 ? line : line.replace(ESC, '');
}
