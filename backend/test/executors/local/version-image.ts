/**
 * Builds a version-like OCI image layout for the podman tests: the test base
 * image plus one code layer (files under app/ and opt/trainyard/python/), as
 * the images module would. Base blobs are symlinked, not copied; the code
 * layer is an uncompressed tar made with tar(1).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

function putBlob(layout: string, data: Buffer): Descriptor & { hex: string } {
  const hex = createHash('sha256').update(data).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), data);
  return { mediaType: '', digest: `sha256:${hex}`, size: data.length, hex };
}

/** Writes the layout into `outDir` and returns it (use as oci:<outDir>:latest). */
export function buildVersionImage(baseDir: string, files: Record<string, string>, outDir: string): string {
  const blobsDir = join(outDir, 'blobs', 'sha256');
  mkdirSync(blobsDir, { recursive: true });
  for (const name of readdirSync(join(baseDir, 'blobs', 'sha256'))) {
    symlinkSync(join(baseDir, 'blobs', 'sha256', name), join(blobsDir, name));
  }
  const readBlob = (digest: string) => readFileSync(join(baseDir, 'blobs', ...digest.split(':')), 'utf8');
  const index = JSON.parse(readFileSync(join(baseDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const baseManifest = JSON.parse(readBlob(index.manifests[0].digest)) as { config: Descriptor; layers: Descriptor[] };
  const config = JSON.parse(readBlob(baseManifest.config.digest)) as {
    config: Record<string, unknown>;
    rootfs: { diff_ids: string[] };
    history?: unknown[];
  };

  const stage = join(outDir, '..', `${outDir.split('/').pop()}-stage`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(stage, path)), { recursive: true });
    writeFileSync(join(stage, path), content);
  }
  const tarFile = join(outDir, 'layer.tar');
  execFileSync('tar', ['-C', stage, '--owner=0', '--group=0', '--numeric-owner', '-cf', tarFile, ...new Set(Object.keys(files).map((p) => p.split('/')[0]))]);
  const layer = putBlob(outDir, readFileSync(tarFile));
  rmSync(tarFile);
  rmSync(stage, { recursive: true, force: true });

  config.rootfs.diff_ids.push(layer.digest);
  config.history = [...(config.history ?? []), { created: '1970-01-01T00:00:00Z', created_by: 'trainyard test: code layer' }];
  config.config = { ...config.config, WorkingDir: '/app' };
  const cfg = putBlob(outDir, Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg.digest, size: cfg.size },
    layers: [...baseManifest.layers, { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
  };
  const man = putBlob(outDir, Buffer.from(JSON.stringify(manifest)));
  writeFileSync(
    join(outDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: man.digest, size: man.size, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
    }),
  );
  writeFileSync(join(outDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return outDir;
}
