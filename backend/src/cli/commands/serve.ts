/** `trainyard serve [--config FILE]`: run the backend in the foreground until Ctrl-C. */
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { isJson, withJson } from '../kit';
import { announce, describeBackend, startBackend, untilSignal } from '../serving';

export function register(program: Command, deps: CliDeps): void {
  withJson(
    program
      .command('serve')
      .description('run the Trainyard backend (API, store, executor, scheduler) until Ctrl-C')
      .option('--config <file>', 'trainyard.yaml (default: TRAINYARD_CONFIG or the embedded defaults)'),
  ).action(async (opts: { config?: string }, cmd: Command) => {
    const backend = await startBackend(opts.config);
    if (isJson(cmd)) deps.out(JSON.stringify(describeBackend(backend)));
    else {
      announce(deps, backend);
      deps.out('press Ctrl-C to stop');
    }
    await untilSignal(deps, backend);
  });
}
