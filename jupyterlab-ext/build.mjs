// Builds the two bundles the package ships:
// - lib/index.js: the browser plugins (src/) with the shared React components (../shared/src/ui)
//   bundled in by relative import; JupyterLab's packages, Lumino and React stay external so
//   `jupyter-builder build` (next step of build:prod) wires them to the host's shared singletons
//   (React 18), never the root node_modules' React 19.
// - trainyard_jupyterlab/node/save-cli.mjs: the self-contained Node save client the server
//   extension spawns (src-node/), with every dependency bundled (save-cli-build.mjs).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveCliBuild } from './save-cli-build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
rmSync(join(here, 'lib'), { recursive: true, force: true });
rmSync(join(here, 'trainyard_jupyterlab/node'), { recursive: true, force: true });

await build({
  entryPoints: [join(here, 'src/index.ts')],
  outfile: join(here, 'lib/index.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  loader: { '.css': 'text' },
  external: ['@jupyterlab/*', '@lumino/*', 'react', 'react-dom', 'react/*', 'react-dom/*'],
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});

await build(saveCliBuild(join(here, 'trainyard_jupyterlab/node/save-cli.mjs')));
