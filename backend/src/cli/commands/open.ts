/**
 * `trainyard open`: print (and, with a desktop, open) the dashboard URL that
 * signs the browser in. The token is in the URL fragment (#token=…), which
 * browsers never send, so it never reaches server or proxy logs; the page
 * moves it to localStorage and removes it from the address bar.
 */
import type { Command } from 'commander';
import type { CliDeps } from '../deps';
import { readToken, tokenPath } from '../../auth/token';
import { isJson, printJson, withJson } from '../kit';
import { loginUrl } from '../serving';

function openBrowser(url: string): boolean {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY && process.platform === 'linux') return false;
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    // node:child_process is taken here, not imported: every other verb would load it at start
    const child = process.getBuiltinModule('node:child_process').spawn(cmd, [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

export function register(program: Command, deps: CliDeps): void {
  withJson(
    program
      .command('open')
      .description('print the dashboard link that signs your browser in (and open it when there is a desktop)')
      .option('--no-browser', 'only print the link'),
  ).action(async (opts: { browser?: boolean }, cmd: Command) => {
    const token = readToken(deps.home);
    const dashboardUrl = loginUrl(deps.url, token);
    let up = true;
    try {
      await deps.client().health();
    } catch {
      up = false;
    }
    if (isJson(cmd)) return printJson(deps, { dashboardUrl, apiUrl: deps.url, openapiUrl: `${deps.url}/openapi.json`, backendUp: up });
    deps.out(`dashboard: ${dashboardUrl}`);
    deps.out(`API:       ${deps.url}  (OpenAPI: ${deps.url}/openapi.json)`);
    if (!token) deps.err(`no token found (${tokenPath(deps.home)} or TRAINYARD_TOKEN): the page will ask for one; start the backend with \`trainyard serve\` first`);
    if (!up) deps.err(`the backend at ${deps.url} is not answering; start it with \`trainyard serve\``);
    else if (opts.browser !== false && openBrowser(dashboardUrl)) deps.out('opened it in your browser');
    deps.out('the link signs the browser in: keep it private (the token is in the part after #, which is never sent to the server)');
  });
}
