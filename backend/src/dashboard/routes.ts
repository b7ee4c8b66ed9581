/**
 * Serves the web dashboard: index.html at / (no-cache, with a strict CSP) and
 * the content-hashed bundle under /assets/ (immutable). Both are public: the
 * page holds no data; it signs in with the token from the URL fragment that
 * `trainyard open` prints, and every /v1 call it makes still needs the token.
 * Only files listed in the build's manifest are served (no path handling).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TypedApp } from '../http-types';
import type { AppContext } from '../context';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Manifest { js: string; css?: string; files: string[] }

/** The bundle next to the CLI bundle (backend/dist/dashboard) or, from source, ../../dist/dashboard. */
export function findDashboard(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, 'dashboard'), join(here, '../../dist/dashboard')]) {
    if (existsSync(join(dir, 'manifest.json'))) return dir;
  }
  return null;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json' };

function page(m: Manifest | null): string {
  const head = m
    ? `${m.css ? `<link rel="stylesheet" href="assets/${m.css}">` : ''}<script type="module" src="assets/${m.js}"></script>`
    : '';
  const body = m
    ? '<div id="root"></div><noscript>The Trainyard dashboard needs JavaScript.</noscript>'
    : '<p style="font-family:sans-serif;margin:40px">The dashboard bundle is not built: run <code>npm run build</code> and restart the backend. The API works meanwhile.</p>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="referrer" content="no-referrer"><title>Trainyard</title><link rel="icon" href="data:,">${head}</head><body>${body}</body></html>`;
}

export function registerDashboardRoutes(app: TypedApp, _ctx: AppContext, dir: string | null = findDashboard()): void {
  let manifest: Manifest | null = null;
  if (dir) {
    try { manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest; } catch { manifest = null; }
  }
  const html = page(manifest);
  const files = new Set(manifest?.files ?? []);
  const cache = new Map<string, Buffer>();

  app.get('/', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('Content-Security-Policy', DASHBOARD_CSP)
      .header('Cache-Control', 'no-cache')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .type('text/html; charset=utf-8');
    return html;
  });

  app.get('/assets/:file', { schema: { hide: true } }, async (req, reply) => {
    const name = (req.params as { file: string }).file;
    if (!dir || !files.has(name)) {
      return reply.status(404).send({ error: { code: 'not_found', message: `no dashboard asset ${name}` } });
    }
    let body = cache.get(name);
    if (!body) { body = readFileSync(join(dir, 'assets', name)); cache.set(name, body); }
    const ext = name.slice(name.lastIndexOf('.'));
    return reply.header('Cache-Control', 'public, max-age=31536000, immutable').header('X-Content-Type-Options', 'nosniff').type(TYPES[ext] ?? 'application/octet-stream').send(body);
  });
}
