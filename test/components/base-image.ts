// The test base image (Debian bookworm + python3) as an OCI image layout directory, built
// once by base-image.sh (debootstrap, no container engine: 45-55 s cold here, ~0 s cached) and cached at
// ${TRAINYARD_CACHE:-~/.cache/trainyard}/base-images/debian-python3 (tag "latest").
// Use it as `oci:<dir>:latest` with skopeo, or loadLayout(dir, name) from ./podman for podman.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./base-image.sh', import.meta.url));

export function baseImageDir(): string {
  const cache = process.env.TRAINYARD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'trainyard');
  return join(cache, 'base-images', 'debian-python3');
}

let building: Promise<string> | undefined;

/** Returns the layout dir, building the image first if the cache does not have it. */
export function ensureBaseImage(): Promise<string> {
  const dir = baseImageDir();
  if (existsSync(join(dir, 'index.json'))) return Promise.resolve(dir);
  building ??= new Promise<string>((resolve, reject) => {
    execFile('bash', [script], { encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      building = undefined;
      if (err) reject(new Error(`building the base image failed: ${err.message}\n${stderr}`));
      else resolve(stdout.trim().split('\n').pop() ?? dir);
    });
  });
  return building;
}
