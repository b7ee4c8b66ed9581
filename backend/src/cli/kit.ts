/**
 * Small helpers every command uses: the shared --json flag, reading it from a
 * command (or its parent, for `schedules delete`), and printing API JSON.
 */
import type { Command } from 'commander';
import type { CliDeps } from './deps';
import { json } from './output';

export function withJson(cmd: Command): Command {
  return cmd.option('--json', "print the API's JSON instead of text");
}

export function isJson(cmd: Command): boolean {
  return Boolean(cmd.optsWithGlobals().json);
}

export function printJson(deps: CliDeps, value: unknown): void {
  deps.out(json(value));
}
