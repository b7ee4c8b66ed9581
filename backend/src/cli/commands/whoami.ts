/** `trainyard whoami`: the person (and role) the CLI's token signs in as. */
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { isJson, printJson, withJson } from '../kit';

export function register(program: Command, deps: CliDeps): void {
  withJson(program.command('whoami').description('who the token signs in as')).action(async (_opts: unknown, cmd: Command) => {
    const me = await deps.client().me();
    if (isJson(cmd)) return printJson(deps, me);
    const how =
      me.kind === 'home' ? "the server's own admin token" : me.kind === 'run' ? `a run token of ${me.runId}` : `token ${me.tokenId}${me.expiresAt ? `, expires ${me.expiresAt}` : ''}`;
    deps.out(`${me.user}${me.admin ? ' (admin)' : ''} — ${how}`);
  });
}
