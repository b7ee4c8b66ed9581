/** Time-sortable ids: a prefix, 10 base-36 chars of milliseconds, 12 random chars. */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

export function newId(prefix: 'run' | 'swp' | 'snp' | 'sch' | 'tok'): string {
  const time = Date.now().toString(36).padStart(10, '0');
  const bytes = randomBytes(12);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b % 36];
  return `${prefix}_${time}${rand}`;
}

export const nowIso = (): string => new Date().toISOString();
