// Bundles the backend + CLI into dist/trainyard.mjs (+ dist/chunks) with esbuild. npm
// dependencies stay external (resolved from node_modules at run time);
// @trainyard/shared is TypeScript source and is bundled in.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const deps = (p) => Object.keys(JSON.parse(readFileSync(join(here, p), 'utf8')).dependencies ?? {});
const external = [...new Set([...deps('package.json'), ...deps('../shared/package.json')])].filter((d) => d !== '@trainyard/shared');

// Code splitting: dist/trainyard.mjs holds what every verb needs (commander, the
// verbs' definitions); each `await import()` (the server for serve/demo, the save
// client, the API client) becomes a chunk under dist/chunks, loaded only by the
// verbs that use it. A client verb must not pay for the server's start-up.
const cli = await build({
  // the CLI, and the modules it starts threads on (dist/<name>.mjs: bundle-entries.json, shared with deploy/image/build.ts)
  entryPoints: Object.fromEntries(Object.entries(JSON.parse(readFileSync(join(here, 'bundle-entries.json'), 'utf8'))).map(([name, src]) => [name, join(here, src)])),
  outdir: join(here, 'dist'),
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: 'linked',
  external: [...external, ...external.map((d) => `${d}/*`)],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
});
// old chunks go after the new ones are written (a CLI started meanwhile still finds its own)
const fresh = new Set(Object.keys(cli.metafile.outputs).map((f) => resolve(f)));
const chunkDir = join(here, 'dist/chunks');
for (const f of readdirSync(chunkDir)) if (!fresh.has(join(chunkDir, f))) rmSync(join(chunkDir, f));

// The web dashboard (shared/src/ui): a browser bundle with content-hashed names
// (cache-busting); manifest.json tells backend/src/dashboard which files to serve.
const { writeFileSync, mkdirSync } = await import('node:fs');
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
