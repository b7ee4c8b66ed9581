/**
 * The rig's runtime images, made by Trainyard's own image writer (backend/src/images) and
 * pushed to the rig's registry: `pause`, the kubelet's sandbox process (built by build.sh from
 * the k8s.io/kubernetes module's pause.c). Prints the pushed reference (repo:tag@digest).
 *   usage: node --import tsx test/k8s/rig-images.ts REGISTRY_URL PAUSE_BINARY
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImageStore } from '../../backend/src/images/open';
import { MEDIA_LAYER_GZIP, writeLayer } from '../../backend/src/images/layer';
import { MEDIA_MANIFEST } from '../../backend/src/images/oci-layout';
import { MEDIA_CONFIG } from '../../backend/src/images/image-builder';

const [registry, pauseBinary] = process.argv.slice(2);
if (!registry || !pauseBinary) {
  console.error('usage: rig-images.ts REGISTRY_URL PAUSE_BINARY');
  process.exit(2);
}
const cache = mkdtempSync(join(tmpdir(), 'ty-rig-images-'));
try {
  const store = openImageStore(registry, { cacheDir: cache });
  const layer = await writeLayer(store, [{ type: 'file', path: 'pause', mode: 0o755, source: { file: pauseBinary } }]);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Entrypoint: ['/pause'], User: '65535:65535' },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
  }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  await store.putBlob(configDigest, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_MANIFEST,
    config: { mediaType: MEDIA_CONFIG, digest: configDigest, size: config.length },
    layers: [{ mediaType: MEDIA_LAYER_GZIP, digest: layer.digest, size: layer.size }],
  }));
  const digest = await store.putManifest('pause', '3.10', manifest, MEDIA_MANIFEST);
  console.log(`${store.imageRef('pause', '3.10')}@${digest}`);
} finally {
  rmSync(cache, { recursive: true, force: true });
}
