/**
 * The shape of issued tokens, so that secret scanners (and people) recognise
 * them: a prefix naming the kind, 30 random base62 characters (~178 bits), and
 * a 6-character base62 CRC32 of those, as GitHub's ghp_ tokens do. The checksum
 * lets a typo or a truncated paste be refused without a store lookup.
 *   tyk_<30><6>  a person's token        tyr_<30><6>  a run's token
 * Only the sha256 of a token is stored (high-entropy secrets need no slow hash).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 30;
const CHECK_CHARS = 6;
export const PREFIXES = { person: 'tyk_', run: 'tyr_' } as const;
export type IssuedKind = keyof typeof PREFIXES;
const SHAPE = /^(tyk|tyr)_([0-9A-Za-z]{30})([0-9A-Za-z]{6})$/;

function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += BASE62[b % 62]; // 248 = 4 * 62: no modulo bias
    }
  }
  return out;
}

function checksum(body: string): string {
  let v = crc32(body);
  let out = '';
  for (let i = 0; i < CHECK_CHARS; i++) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}

export function newSecret(kind: IssuedKind): string {
  const body = randomBase62(RANDOM_CHARS);
  return `${PREFIXES[kind]}${body}${checksum(body)}`;
}

/** The kind of a well-formed token with a correct checksum, else null. */
export function secretKind(token: string): IssuedKind | null {
  const m = SHAPE.exec(token);
  if (!m || checksum(m[2]) !== m[3]) return null;
  return m[1] === 'tyk' ? 'person' : 'run';
}

export function hashSecret(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** What lists show: the prefix and four characters, enough to tell tokens apart. */
export function hintOf(token: string): string {
  return token.slice(0, 8);
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
