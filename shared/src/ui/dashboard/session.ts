/**
 * Dashboard sign-in: `trainyard open` prints http://host/#token=…; the fragment
 * never reaches the server (so never its logs). We keep the token in
 * localStorage and take it out of the address bar at once.
 */
const KEY = 'trainyard.token';

export function takeToken(loc: Location, hist: History, storage: Storage): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(loc.hash);
  if (m) {
    const token = decodeURIComponent(m[1]);
    storage.setItem(KEY, token);
    hist.replaceState(null, '', `${loc.pathname}${loc.search}#/`);
    return token;
  }
  return storage.getItem(KEY);
}

export function saveToken(storage: Storage, token: string): void { storage.setItem(KEY, token.trim()); }
export function forgetToken(storage: Storage): void { storage.removeItem(KEY); }

export type Route =
  | { page: 'runs' } | { page: 'launch'; model?: string } | { page: 'models' } | { page: 'model'; model: string }
  | { page: 'run'; id: string } | { page: 'sweep'; id: string } | { page: 'costs' } | { page: 'schedules' } | { page: 'missing'; path: string };

export function parseRoute(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const q = new URLSearchParams(query);
  if (parts.length === 0 || (parts[0] === 'runs' && parts.length === 1)) return { page: 'runs' };
  if (parts[0] === 'runs' && parts.length === 2) return { page: 'run', id: parts[1] };
  if (parts[0] === 'launch' && parts.length === 1) return { page: 'launch', model: q.get('model') ?? undefined };
  if (parts[0] === 'models' && parts.length === 1) return { page: 'models' };
  if (parts[0] === 'models' && parts.length === 2) return { page: 'model', model: parts[1] };
  if (parts[0] === 'sweeps' && parts.length === 2) return { page: 'sweep', id: parts[1] };
  if (parts[0] === 'costs' && parts.length === 1) return { page: 'costs' };
  if (parts[0] === 'schedules' && parts.length === 1) return { page: 'schedules' };
  return { page: 'missing', path };
}
