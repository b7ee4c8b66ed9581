/**
 * The rule for a path inside a run's artifacts, in a module without TypeBox (the API client
 * checks it before asking, and the CLI's client must not load the schemas to do that).
 */
const utf8 = new TextEncoder();

/** true when p is a path an artifact may have (the same rule the server applies) */
export function isArtifactPath(p: string): boolean {
  if (p.length === 0 || p.length > 1024 || p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return false;
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..' && utf8.encode(s).length <= 255);
}
