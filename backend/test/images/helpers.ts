/** Test helpers for images: temp dirs, a tiny synthetic base image, tar listings, CLI runs. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { OciLayoutStore } from '../../src/images/oci-layout';
import { MEDIA_LAYER_GZIP, writeLayer } from '../../src/images/layer';
import { readLayer } from '../../src/images/layer-read';
import type { ImageStore } from '../../src/images/image-store';

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `ty-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const c = (err as { code?: unknown } | null)?.code;
      const code = !err ? 0 : typeof c === 'number' ? c : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * A one-layer base image tagged `base:v1` in its own layout: /usr/local/bin/python3 (a
 * shell script), /etc/base-release, Env PATH and PYTHONPATH, a Label and a Cmd.
 */
export async function makeBaseImage(dir: string): Promise<{ dir: string; ref: string; layerDigest: string; manifestDigest: string }> {
  const store = new OciLayoutStore(dir);
  const layer = await writeLayer(store, [
    { type: 'file', path: 'usr/local/bin/python3', mode: 0o755, source: { data: Buffer.from('#!/bin/sh\necho fake python\n') } },
    { type: 'file', path: 'etc/base-release', mode: 0o644, source: { data: Buffer.from('base v1\n') } },
  ]);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'PYTHONPATH=/base/lib', 'LANG=C.UTF-8'], Cmd: ['python3'], Labels: { team: 'ml' } },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'test base' }],
    }),
  );
  await store.putBlob(sha(config), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: MEDIA_LAYER_GZIP, digest: layer.digest, size: layer.size }],
    }),
  );
  const manifestDigest = await store.putManifest('base', 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
  return { dir, ref: `oci-layout:${dir}:base:v1`, layerDigest: layer.digest, manifestDigest };
}

/** [path, type, mode, linkname] of every entry of a layer, in tar order */
export async function listLayer(store: ImageStore, digest: string): Promise<Array<[string, string, number, string | null, number, number, number]>> {
  const out: Array<[string, string, number, string | null, number, number, number]> = [];
  for await (const e of readLayer(store, { digest, mediaType: MEDIA_LAYER_GZIP })) {
    const h = e.header;
    out.push([h.name, h.type, h.mode, h.linkname ?? null, h.mtime.getTime(), h.uid, h.gid]);
    e.resume();
  }
  return out;
}
