/** The panel page: one script (the webview bundle) and one stylesheet, a strict CSP with a nonce. Pure, for tests. */
import { randomBytes } from 'node:crypto';

export function nonce(): string { return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, ''); }

export function panelHtml(opts: { cspSource: string; scriptUri: string; styleUri: string; nonce: string; title: string }): string {
  const csp = [
    "default-src 'none'",
    `img-src ${opts.cspSource} data:`,
    `style-src ${opts.cspSource} 'unsafe-inline'`, // uPlot and the virtual lists set inline styles
    `font-src ${opts.cspSource}`,
    `script-src 'nonce-${opts.nonce}'`,
  ].join('; ');
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(opts.title)}</title>
<link rel="stylesheet" href="${esc(opts.styleUri)}">
</head><body class="ty-vscode-body"><div id="root"></div>
<script nonce="${opts.nonce}" src="${esc(opts.scriptUri)}"></script>
</body></html>`;
}
