/**
 * Shared by `serve` and `demo`: load the config (ConfigError messages are
 * user-facing), start the backend, say where everything is, and stay up until
 * SIGINT/SIGTERM, then close cleanly. A second signal exits at once.
 */
import type { ResolvedConfig } from '../config';
import { tokenPath } from '../auth/token';
import type { CliDeps } from './deps';
import { details } from './output';

export interface Backend {
  url: string;
  token: string;
  config: ResolvedConfig;
  close(): Promise<void>;
}

export async function startBackend(configFile: string | undefined): Promise<Backend> {
  // the config parser and the server are loaded only by serve and demo
  const { loadConfig } = await import('../config');
  const config = loadConfig(configFile);
  const { startServer } = await import('../app');
  const server = await startServer(config);
  return { url: server.url, token: server.token, config, close: () => server.close() };
}

export function describeBackend(b: Backend): { url: string; home: string; tokenFile: string; executor: string; store: string; images: string } {
  return {
    url: b.url,
    home: b.config.home,
    tokenFile: tokenPath(b.config.home),
    executor: b.config.executor.kind,
    store: b.config.store.url,
    images: b.config.images.registry,
  };
}

/** The dashboard URL that signs a browser in: the token rides in the fragment, which browsers never send to the server. */
export function loginUrl(url: string, token: string | null): string {
  return token ? `${url}/#token=${encodeURIComponent(token)}` : `${url}/`;
}

/** what a started backend says about itself, in one write: a reader of the output (a script, an editor) never sees the first line alone */
export function announce(deps: CliDeps, b: Backend): void {
  const d = describeBackend(b);
  const lines = [
    `${deps.st.bold('Trainyard backend')} listening on ${deps.st.cyan(d.url)}`,
    `  dashboard  ${deps.st.cyan(loginUrl(d.url, b.token))}  (this link signs the browser in; keep it private)`,
    ...details([
      ['data home', d.home],
      ['token', process.env.TRAINYARD_TOKEN?.trim() ? 'TRAINYARD_TOKEN (the admin token given at start; no token file)' : `${d.tokenFile} (the CLI reads it from there, or set TRAINYARD_TOKEN)`],
      ['executor', d.executor],
      ['store', d.store],
      ['images', d.images],
    ], deps.st).map((l) => `  ${l}`),
    ...(b.url !== 'http://127.0.0.1:7878' ? [`  other shells: export TRAINYARD_URL=${b.url}`] : []),
  ];
  deps.out(lines.join('\n'));
}

/** Resolves after the first SIGINT/SIGTERM has closed the backend. */
export function untilSignal(deps: CliDeps, b: Backend, onStop?: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        deps.err(`trainyard: ${signal} again; exiting without a clean shutdown`);
        process.exit(130);
      }
      stopping = true;
      deps.err(`${signal}: stopping the backend...`);
      onStop?.();
      b.close().then(
        () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          deps.err('stopped');
          // anything still holding the event loop (a child in teardown) gets a moment, then we go
          setTimeout(() => process.exit(process.exitCode ?? 0), 1500).unref();
          resolve();
        },
        reject,
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
