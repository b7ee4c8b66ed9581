// Builds the extension: dist/extension.cjs (the extension host, CJS, `vscode` external) and
// dist/webview.js + dist/webview.css (one IIFE of the shared components for the panels).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const started = Date.now();
// the shared package exports only .ts modules; its React components (.tsx) and CSS are reached by path
const alias = { '@trainyard/shared': join(here, '../shared/src') };
await Promise.all([
  // the extension itself stays small (activate() loads only it); the HTTP client, the save
  // client and the schema validator are dist/heavy.cjs, required on first use (src/lazy.ts)
  build({
    entryPoints: [join(here, 'src/extension.ts')],
    outfile: join(here, 'dist/extension.cjs'),
    bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    external: ['vscode', './heavy.cjs'], alias,
    minify: true, sourcemap: false, legalComments: 'none', logLevel: 'warning',
  }),
  build({
    entryPoints: [join(here, 'src/heavy.ts')],
    outfile: join(here, 'dist/heavy.cjs'),
    bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    external: ['vscode'], alias, minify: true, sourcemap: false, legalComments: 'none', logLevel: 'warning',
  }),
  build({
    entryPoints: [join(here, 'src/webview/main.tsx')],
    outfile: join(here, 'dist/webview.js'),
    alias, bundle: true, platform: 'browser', format: 'iife', target: 'es2022', jsx: 'automatic',
    minify: true, sourcemap: false, legalComments: 'none', logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  }),
]);
console.error(`vscode-ext: built in ${Date.now() - started} ms`);
