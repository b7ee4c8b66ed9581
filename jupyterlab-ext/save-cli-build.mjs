// How the save client the server extension spawns (src-node/save-cli.ts) is bundled: one
// self-contained Node file with every dependency in it. build.mjs writes it into the package
// (trainyard_jupyterlab/node/save-cli.mjs); test/jupyterlab/save-cli.test.ts bundles it the same way.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** esbuild options for the save client, written to `outfile` */
export const saveCliBuild = (outfile) => ({
  entryPoints: [join(here, 'src-node/save-cli.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
