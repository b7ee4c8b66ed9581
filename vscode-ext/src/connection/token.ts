/**
 * Where the token comes from: VS Code SecretStorage (keyed by backend URL; set by Sign In),
 * else, for a local URL only, TRAINYARD_TOKEN, else the data home's token file
 * ($TRAINYARD_HOME/token or ~/.trainyard/token). A remote URL never gets a local token.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isLocalUrl } from './url';

export interface SecretStore { get(key: string): Thenable<string | undefined>; store(key: string, value: string): Thenable<void>; delete(key: string): Thenable<void> }

export const secretKey = (url: string) => `trainyard.token:${url}`;

export async function localToken(env: NodeJS.ProcessEnv = process.env): Promise<{ token: string; source: string } | null> {
  if (env.TRAINYARD_TOKEN?.trim()) return { token: env.TRAINYARD_TOKEN.trim(), source: 'TRAINYARD_TOKEN' };
  const file = join(env.TRAINYARD_HOME || join(homedir(), '.trainyard'), 'token');
  try {
    const t = (await readFile(file, 'utf8')).trim();
    return t ? { token: t, source: file } : null;
  } catch {
    return null;
  }
}

export async function resolveToken(secrets: SecretStore, url: string): Promise<{ token: string; source: string } | null> {
  const stored = await secrets.get(secretKey(url));
  if (stored) return { token: stored, source: 'Sign In' };
  return isLocalUrl(url) ? localToken() : null;
}

/** a token as typed: trimmed, printable, no spaces */
export function checkToken(raw: string): string | null {
  const t = raw.trim();
  if (!t) return 'Enter the token (from `trainyard open`, or the file ~/.trainyard/token on the backend machine).';
  if (!/^[\x21-\x7e]{8,512}$/.test(t)) return 'A token is 8 to 512 printable characters without spaces.';
  return null;
}
