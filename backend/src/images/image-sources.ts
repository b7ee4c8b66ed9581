/**
 * Which image sources a caller may make this backend read: the only place a caller-supplied
 * reference (a snapshot's `baseImage`) is checked before it is resolved (base-image.ts) or pulled.
 *
 * - Registry references (`host[:port]/repo[:tag|@digest]`) must name a host of
 *   `images.allowedRegistries` (default: the configured registry's host only; none when the
 *   images live in an OCI layout). Anything else would let any signed-in caller make the
 *   backend send requests to hosts of its choosing (SSRF).
 * - OCI layout paths (`oci-layout:<dir>`, `oci:<dir>`, `/dir`, `./dir`) read the server's own
 *   disk, so they are allowed in the embedded mode only: `images.allowLayoutPaths`, by default
 *   true when the server is bound to a loopback address and its admin token is the data-home
 *   token file (no TRAINYARD_TOKEN), i.e. one person on their own machine (config.ts).
 * Refusals are the caller's to fix (400): they say what is allowed and which key changes it.
 */
import type { ImageStore } from './image-store';
import { parseLayoutRef } from './open';
import { RegistryStore } from './registry-store';
import { parseRegistryRef } from './registry/reference';

export interface ImageSourcePolicy {
  /** registry hosts (host or host:port, lower case) a reference may name */
  registries: string[];
  /** whether OCI layout paths on the server's disk may be read */
  layoutPaths: boolean;
}

/** the policy of a backend: its config, with the image store's own registry as the default allowlist */
export function imageSourcePolicy(images: { allowedRegistries: string[] | null; allowLayoutPaths: boolean }, store: ImageStore): ImageSourcePolicy {
  const own = store instanceof RegistryStore ? [store.registry.host] : [];
  return { registries: (images.allowedRegistries ?? own).map((h) => h.toLowerCase()), layoutPaths: images.allowLayoutPaths };
}

/** null when `ref` may be read under `policy`, else what is wrong and how to change it */
export function imageSourceProblem(ref: string, policy: ImageSourcePolicy, what = 'base image'): string | null {
  if (parseLayoutRef(ref)) {
    if (policy.layoutPaths) return null;
    return `${what} "${ref}": OCI layout paths on the server are allowed only in the embedded mode (a server on a loopback address with its data-home token); push the image to an allowed registry (${allowed(policy)}) and name it there, or set images.allowLayoutPaths: true in the server's config`;
  }
  const reg = parseRegistryRef(ref);
  if (!reg) {
    return `${what} "${ref}": use an OCI layout directory (oci-layout:<dir>[:<ref>] or an absolute path) or a registry image with its host (host[:port]/repo[:tag|@sha256:…])`;
  }
  if (policy.registries.includes(reg.endpoint.host.toLowerCase())) return null;
  return `${what} "${ref}": registry ${reg.endpoint.host} is not allowed on this server (allowed: ${allowed(policy)}); add it to images.allowedRegistries in the server's config`;
}

const allowed = (policy: ImageSourcePolicy) => (policy.registries.length ? policy.registries.join(', ') : 'none');
