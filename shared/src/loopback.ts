/**
 * Whether a host names this machine only: localhost, 127.0.0.0/8 or ::1, with or without a
 * port ("127.0.0.1:8080") or URL brackets ("[::1]"). The backend's embedded mode and its local
 * fast path, the client's choice to offer file paths, and registry URLs (http on loopback) use it.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[([^\]]*)\](:\d+)?$/, '$1').replace(/^([^:]*):\d+$/, '$1');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
