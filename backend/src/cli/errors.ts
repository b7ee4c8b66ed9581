/**
 * How a failure leaves the CLI: one line `trainyard: <reason>` on stderr and
 * an exit code (2 for usage errors, 1 for everything else). Server messages
 * (ApiError) are written to be shown, so they pass through; a few get a hint
 * about what to do next (start the backend, fix the token).
 */
import { ApiError } from '@trainyard/shared/client';
import { CommanderError } from 'commander';

/** The user typed something the CLI cannot accept. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the CLI itself detected (not from the server). Exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export interface Failure {
  exitCode: number;
  /** one line, without the "trainyard: " prefix */
  message: string;
}

export interface ErrorContext {
  url: string;
  tokenSource: string | null;
}

export function describeFailure(err: unknown, ctx: ErrorContext): Failure {
  if (err instanceof UsageError) return { exitCode: 2, message: oneLine(err.message) };
  if (err instanceof CommanderError) {
    return { exitCode: err.exitCode === 0 ? 0 : 2, message: oneLine(err.message.replace(/^error:\s*/i, '')) };
  }
  if (err instanceof ApiError) {
    let message = err.message;
    if (err.status === 401) {
      message = ctx.tokenSource
        ? `${message} (the CLI sent the token from ${ctx.tokenSource}; the server at ${ctx.url} keeps its admin token in <data home>/token, and an admin makes a person's token with \`trainyard tokens create\`)`
        : `${message} (the CLI found no token: set TRAINYARD_TOKEN, or TRAINYARD_HOME to the server's data home)`;
    }
    if (err.status === 0 && err.code === 'unavailable' && /cannot reach/.test(message) && !/trainyard serve/.test(message)) {
      message = `${message}; start it with \`trainyard serve\` (or set TRAINYARD_URL)`;
    }
    return { exitCode: 1, message: oneLine(message) };
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') {
    return { exitCode: 1, message: oneLine(`${e.message}: another process (perhaps \`trainyard serve\`) uses that port; stop it or set server.port in a config file`) };
  }
  return { exitCode: 1, message: oneLine(e?.message ?? String(err)) };
}

export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
