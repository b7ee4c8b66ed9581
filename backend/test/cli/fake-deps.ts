/** CliDeps for unit tests: captured stdout/stderr lines, no colour, a fixed clock, a client that must be given. */
import type { TrainyardClient } from '@trainyard/shared';
import type { CliDeps } from '../../src/cli/deps';
import { style } from '../../src/cli/output';

export interface Captured extends CliDeps {
  stdout: string[];
  stderr: string[];
}

export function fakeDeps(client?: Partial<TrainyardClient>): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    url: 'http://127.0.0.1:9',
    home: '/nonexistent/trainyard-home',
    tokenSource: 'TRAINYARD_TOKEN',
    client() {
      if (!client) throw new Error('this test must not reach the API');
      return client as TrainyardClient;
    },
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    writeErr: (t) => stderr.push(t),
    st: style(false),
    now: () => new Date('2025-01-01T12:00:00Z'),
    entryFile: '/nonexistent/backend/dist/trainyard.mjs',
  };
}
