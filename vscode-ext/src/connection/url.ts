/** trainyard.url checked (http or https, else the default with the problem said), and whether it is this machine. Pure. */
/** the client's DEFAULT_URL (kept here so this module does not load the HTTP client; a test checks they agree) */
export const DEFAULT_URL = 'http://127.0.0.1:7878';

export function checkUrl(raw: unknown): { url: string; problem?: string } {
  if (typeof raw !== 'string' || !raw.trim()) return { url: DEFAULT_URL };
  try {
    const u = new URL(raw.trim());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return { url: DEFAULT_URL, problem: `trainyard.url must start with http:// or https:// (got ${u.protocol})` };
    return { url: u.toString().replace(/\/+$/, '') };
  } catch {
    return { url: DEFAULT_URL, problem: `trainyard.url is not a URL: ${JSON.stringify(raw)}` };
  }
}

export function isLocalUrl(url: string): boolean {
  try {
    const h = new URL(url).hostname;
    return h === '127.0.0.1' || h === 'localhost' || h === '[::1]' || h === '::1';
  } catch {
    return false;
  }
}
