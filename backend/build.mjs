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

// The web dashboard (shared/src/ui): a browser bundle with content-hashed names
// (cache-busting); manifest.json tells backend/src/dashboard which files to serve.
const { rmSync, writeFileSync, mkdirSync } = await import('node:fs');
const { basename } = await import('node:path');
const dash = join(here, 'dist/dashboard');
rmSync(dash, { recursive: true, force: true });
const out = await build({
  entryPoints: { dashboard: join(here, '../shared/src/ui/dashboard/main.tsx') },
  outdir: join(dash, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
mkdirSync(dash, { recursive: true });
const files = Object.keys(out.metafile.outputs).map((f) => basename(f));
writeFileSync(join(dash, 'manifest.json'), JSON.stringify({
  js: files.find((f) => f.endsWith('.js')),
  css: files.find((f) => f.endsWith('.css')),
  files,
}));
