/**
 * What every command gets: where the backend is, the data home, a lazily
 * created API client, writers for stdout/stderr and the style to use.
 * Commands write through `out`/`err` only, so tests can capture them.
 */
import { existsSync } from 'node:fs';
import { DEFAULT_URL, TrainyardClient } from '@trainyard/shared/client';
import { dataHome } from '../data-home';
import { readToken, tokenPath } from '../auth/token';
import { colorEnabled, style, type Style } from './output';
import { httpFetch } from '@trainyard/shared/http-fetch';

export interface CliDeps {
  url: string;
  home: string;
  /** where the token came from (null: none found), for error hints */
  tokenSource: string | null;
  client(): TrainyardClient;
  out(line: string): void;
  err(line: string): void;
  /** raw stderr for streamed program output (log lines keep their own newlines) */
  writeErr(text: string): void;
  st: Style;
  now(): Date;
  /** the file this CLI runs from (bundle or source), to find examples/ */
  entryFile: string;
}

export function createDeps(entryFile: string, env: NodeJS.ProcessEnv = process.env): CliDeps {
  const url = (env.TRAINYARD_URL || DEFAULT_URL).replace(/\/+$/, '');
  const home = dataHome();
  let client: TrainyardClient | undefined;
  return {
    url,
    home,
    tokenSource: env.TRAINYARD_TOKEN ? 'TRAINYARD_TOKEN' : existsSync(tokenPath(home)) ? tokenPath(home) : null,
    client() {
      client ??= new TrainyardClient({ baseUrl: url, token: readToken(home) ?? undefined, fetch: httpFetch });
      return client;
    },
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
    writeErr: (text) => process.stderr.write(text),
    st: style(colorEnabled(process.stdout.isTTY, env)),
    now: () => new Date(),
    entryFile,
  };
}
