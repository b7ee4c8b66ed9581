/**
 * The server's own admin token. At first start a random token is written to
 * <home>/token with mode 0600; the CLI reads it from there (or TRAINYARD_TOKEN).
 * The identity recorded as createdBy is the local user who owns the data home.
 * A team's deployment sets TRAINYARD_TOKEN instead (serverToken); its admin is "admin".
 * People's own tokens and run tokens live in the store (store.ts, caller.ts).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';

export function tokenPath(home: string): string {
  return join(home, 'token');
}

export function ensureToken(home: string): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = tokenPath(home);
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length >= 32) {
      if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
      return existing;
    }
  } catch {
    /* first start */
  }
  const token = `ty_${randomBytes(32).toString('base64url')}`;
  writeFileSync(path, token + '\n', { mode: 0o600, flag: 'w' });
  chmodSync(path, 0o600);
  return token;
}

/** The name the team's admin token (TRAINYARD_TOKEN at start) records as createdBy. */
export const TEAM_ADMIN_USER = 'admin';

/**
 * The server's own admin token: TRAINYARD_TOKEN when it is set at start (a team's
 * Secret; no file is read or written), else the data-home token file (created once).
 */
export function serverToken(home: string, env: NodeJS.ProcessEnv = process.env): { token: string; source: 'env' | 'file' } {
  const fromEnv = env.TRAINYARD_TOKEN?.trim();
  if (fromEnv) {
    if (fromEnv.length < 32 || /\s/.test(fromEnv)) {
      throw new Error('TRAINYARD_TOKEN is set but is not usable as the admin token: use at least 32 characters without spaces (e.g. `openssl rand -base64 32`), or unset it to use the data-home token file');
    }
    return { token: fromEnv, source: 'env' };
  }
  return { token: ensureToken(home), source: 'file' };
}

export function readToken(home: string): string | null {
  if (process.env.TRAINYARD_TOKEN) return process.env.TRAINYARD_TOKEN;
  try {
    return readFileSync(tokenPath(home), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
