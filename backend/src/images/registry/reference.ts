/**
 * Registry references and tags.
 *
 * - `images.registry: http://127.0.0.1:5000/team` ⇒ base URL http://127.0.0.1:5000,
 *   namespace "team": model `eta` is stored as repository `team/eta`. Credentials may
 *   be given as URL userinfo (http://user:pass@host/team) or with
 *   TRAINYARD_REGISTRY_USERNAME / TRAINYARD_REGISTRY_PASSWORD.
 * - Image references: `[docker://|http://|https://]host[:port]/path[:tag|@sha256:…]`.
 *   The first component is a registry host only when it has a "." or ":" or is
 *   "localhost" (Docker's rule); without a scheme, https is used, except for the
 *   host of the configured registry (its own scheme) and loopback hosts (http).
 * - Version labels may contain "+" (`<sha>+dirty.<hash8>`), Docker tags may not
 *   (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`): tagFor() maps "+" to "_" (the mapping
 *   Helm and semver tooling use). Labels differing only by "+"/"_" would share a
 *   tag; the service refuses the second one (the manifest carries the label in its
 *   `dev.trainyard.version` annotation and is checked before a tag is moved).
 */
import { isLoopbackHost } from '@trainyard/shared/loopback';

export interface RegistryEndpoint {
  /** e.g. http://127.0.0.1:5000 */
  baseUrl: string;
  /** e.g. 127.0.0.1:5000 */
  host: string;
  username?: string;
  password?: string;
}

export interface RegistryLocation extends RegistryEndpoint {
  /** repository prefix without slashes at the ends, may be "" */
  namespace: string;
}

export interface RegistryRef {
  endpoint: RegistryEndpoint;
  repo: string;
  /** a tag or a sha256 digest */
  ref: string;
}

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export function parseRegistryUrl(url: string, env: NodeJS.ProcessEnv = process.env): RegistryLocation {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`images.registry ${JSON.stringify(url)} is not a URL; e.g. http://127.0.0.1:5000/team`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`images.registry ${url}: use http:// or https://`);
  if (u.search || u.hash) throw new Error(`images.registry ${url}: no query or fragment, just http(s)://host[:port][/namespace]`);
  const namespace = u.pathname.replace(/^\/+|\/+$/g, '');
  if (namespace && !REPO_RE.test(namespace)) throw new Error(`images.registry ${url}: "${namespace}" is not a valid repository namespace (lower-case letters, digits, ".", "_", "-", "/")`);
  const username = u.username ? decodeURIComponent(u.username) : env.TRAINYARD_REGISTRY_USERNAME;
  const password = u.password ? decodeURIComponent(u.password) : env.TRAINYARD_REGISTRY_PASSWORD;
  return {
    baseUrl: `${u.protocol}//${u.host}`,
    host: u.host,
    namespace,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

/** the Docker tag of a version label: "+" ⇒ "_"; throws when no valid tag results */
export function tagFor(label: string): string {
  const tag = label.replace(/\+/g, '_');
  if (!TAG_RE.test(tag)) throw new Error(`version label "${label}" cannot be a registry tag (letters, digits, "_", ".", "-", at most 128)`);
  return tag;
}

export function isDigestRef(ref: string): boolean {
  return /^sha256:[a-f0-9]{64}$/.test(ref);
}

/**
 * Parses a registry image reference; null when `ref` is not one (e.g. a layout path).
 * `defaults` (the configured registry) decides the scheme and credentials for its host.
 */
export function parseRegistryRef(ref: string, defaults?: RegistryEndpoint): RegistryRef | null {
  let rest = ref;
  let scheme: string | null = null;
  const m = /^(docker|https?):\/\//.exec(rest);
  if (m) {
    scheme = m[1] === 'docker' ? null : m[1];
    rest = rest.slice(m[0].length);
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const host = rest.slice(0, slash);
  if (!(host.includes('.') || host.includes(':') || host === 'localhost')) return null;
  let path = rest.slice(slash + 1);
  let tagOrDigest = 'latest';
  const at = path.indexOf('@');
  if (at >= 0) {
    tagOrDigest = path.slice(at + 1);
    path = path.slice(0, at);
    if (!isDigestRef(tagOrDigest)) return null;
  } else {
    const colon = path.lastIndexOf(':');
    if (colon >= 0) {
      tagOrDigest = path.slice(colon + 1);
      path = path.slice(0, colon);
      if (!TAG_RE.test(tagOrDigest)) return null;
    }
  }
  if (!REPO_RE.test(path)) return null;
  const same = defaults && defaults.host === host;
  const proto = scheme ?? (same ? defaults.baseUrl.slice(0, defaults.baseUrl.indexOf(':')) : isLoopbackHost(host) ? 'http' : 'https');
  const endpoint: RegistryEndpoint = {
    baseUrl: `${proto}://${host}`,
    host,
    ...(same && defaults.username !== undefined ? { username: defaults.username } : {}),
    ...(same && defaults.password !== undefined ? { password: defaults.password } : {}),
  };
  return { endpoint, repo: path, ref: tagOrDigest };
}
