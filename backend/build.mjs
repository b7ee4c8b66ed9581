// Bundles the backend + CLI into dist/trainyard.mjs with esbuild. npm
// dependencies stay external (resolved from node_modules at run time);
// @trainyard/shared is TypeScript source and is bundled in.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const deps = (p) => Object.keys(JSON.parse(readFileSync(join(here, p), 'utf8')).dependencies ?? {});
const external = [...new Set([...deps('package.json'), ...deps('../shared/package.json')])].filter((d) => d !== '@trainyard/shared');

await build({
  entryPoints: [join(here, 'src/cli/main.ts')],
  outfile: join(here, 'dist/trainyard.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: 'linked',
  external: [...external, ...external.map((d) => `${d}/*`)],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
