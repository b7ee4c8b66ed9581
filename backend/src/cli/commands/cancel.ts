/**
 * `trainyard cancel ID`: asks the executor to stop a run. Cancelling is
 * asynchronous, so it waits a few seconds for the run to become final and says
 * honestly if it has not yet. --json prints the API's answer to the cancel call.
 */
import type { Command } from 'commander';
import type { Run } from '@trainyard/shared';
import type { CliDeps } from '../deps';
import { isJson, printJson, withJson } from '../kit';
import { statusText } from '../output';
import { isFinal } from '../run-format';

const WAIT_MS = 10_000;

export function register(program: Command, deps: CliDeps): void {
  withJson(program.command('cancel').description('cancel a run').argument('<id>', 'run id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      const client = deps.client();
      let run: Run = await client.cancelRun(id);
      if (isJson(cmd)) return printJson(deps, run);
      const deadline = Date.now() + WAIT_MS;
      while (!isFinal(run.status) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        run = await client.getRun(id);
      }
      if (isFinal(run.status)) deps.out(`${run.id} ${statusText(run.status, deps.st)}${run.reason ? `: ${run.reason}` : ''}`);
      else deps.out(`cancel requested; ${run.id} is still ${statusText(run.status, deps.st)} while the executor stops it (see \`trainyard run ${run.id}\`)`);
    },
  );
}
