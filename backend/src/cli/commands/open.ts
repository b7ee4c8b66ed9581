/**
 * `trainyard open`: where to look. The dashboard is a later issue; until it
 * exists this prints the API URL and says so plainly instead of opening anything.
 */
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { isJson, printJson, withJson } from '../kit';

export function register(program: Command, deps: CliDeps): void {
  withJson(program.command('open').description('print where the dashboard and API are')).action(
    async (_opts: unknown, cmd: Command) => {
      if (isJson(cmd)) return printJson(deps, { apiUrl: deps.url, openapiUrl: `${deps.url}/openapi.json`, dashboardUrl: null });
      deps.out('the dashboard is not built yet; nothing was opened.');
      deps.out(`API:      ${deps.url}`);
      deps.out(`OpenAPI:  ${deps.url}/openapi.json`);
      deps.out('meanwhile: `trainyard runs`, `trainyard logs ID -f`, `trainyard metrics ID`');
    },
  );
}
