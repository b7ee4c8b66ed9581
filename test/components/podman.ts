// Podman for tests, with the flags this sandbox needs (found by running podman 4.3.1 +
// runc 1.1.5 here, as root, cgroups v1, no systemd as PID 1):
//
// Global flags, podmanArgs():
//   --runtime=runc         crun (podman's first choice, pulled in by `apt-get install podman`)
//                          fails here: "cgroups in hybrid mode not supported, drop all
//                          controllers from cgroupv2". runc works.
//   --cgroup-manager=cgroupfs  with systemd: "systemd not running on this host, cannot use
//                          systemd cgroups manager" (podman auto-detects cgroupfs here, but say it).
//   --storage-driver=overlay + our own --root/--runroot/--tmpdir.  Overlay works as root on this
//                          ext4; vfs works too but copies the whole rootfs per container
//                          (python3 -c 'print(42)': overlay 0.37 s, vfs 1.46 s). An explicit
//                          --storage-driver on the machine's default store fails with "database
//                          storage graph driver "" does not match our storage graph driver
//                          "overlay": database configuration mismatch", so tests use a store of
//                          their own (under $TRAINYARD_CACHE/podman, run state under /run), which
//                          also keeps test images out of the user's store. vfs is the fallback
//                          when `podman info` says overlay does not work (or TRAINYARD_PODMAN_STORAGE_DRIVER).
// Run flags, podmanRunArgs():
//   --ulimit nofile=1024:1024  without it runc fails: "error setting rlimits for ready process:
//                          error setting rlimit type 7: operation not permitted" (podman asks for
//                          nofile 1048576; the sandbox hard limit is 20000).
//   --ulimit nproc=1024:1024   then: "... error setting rlimit type 6 ..." (nproc).
//   Not needed: --network=none (netavark bridge works), --pids-limit (default 2048 works on v1).
//
// OCI layouts: podman 4.3 names an image from `oci:<dir>` after its path ("localhost/<dir>"),
// so `podman run|pull oci:<dir>:latest` works only when <dir> is a valid image name; under
// ~/.cache (a "." component) it fails: "invalid reference format". loadLayout() instead streams
// the layout as an oci-archive into `podman load` and tags it by its config digest (= image ID).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

const cache = process.env.TRAINYARD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'trainyard');
const runBase = process.getuid?.() === 0 ? '/run/trainyard-podman' : join(tmpdir(), `trainyard-podman-${process.getuid?.()}`);

function flagsFor(driver: string): string[] {
  return [
    '--runtime=runc', '--cgroup-manager=cgroupfs', `--storage-driver=${driver}`,
    `--root=${join(cache, 'podman', `storage-${driver}`)}`,
    `--runroot=${join(runBase, driver, 'run')}`, `--tmpdir=${join(runBase, driver, 'tmp')}`,
  ];
}

function works(args: string[]): boolean {
  try {
    execFileSync('podman', [...args, 'info', '--format', '{{.Store.GraphDriverName}}'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch { return false; }
}

let probed: string[] | null | undefined;
function probe(): string[] | null {
  if (probed !== undefined) return probed;
  const forced = process.env.TRAINYARD_PODMAN_STORAGE_DRIVER;
  const drivers = forced ? [forced] : ['overlay', 'vfs'];
  probed = drivers.map(flagsFor).find(works) ?? null;
  return probed;
}

/** True when podman and runc are installed and podman works with podmanArgs(). */
export function podmanAvailable(): boolean {
  return probe() !== null;
}

/** Global flags for every podman command in tests (before the subcommand). */
export function podmanArgs(): string[] {
  const args = probe();
  if (!args) throw new Error('podman does not work here (is it installed? `podman --runtime=runc info` fails)');
  return [...args];
}

/** Flags for `podman run` / `podman create` in this sandbox. */
export function podmanRunArgs(): string[] {
  return ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
}

/** Runs `podman <podmanArgs()> ...args`; rejects with stderr on a non-zero exit. */
export function podman(args: string[], opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('podman', [...podmanArgs(), ...args], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`podman ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve({ stdout, stderr })));
  });
}

/** Image ID (config digest, hex) of `tag` in an OCI image layout. */
export function layoutImageId(layoutDir: string, tag = 'latest'): string {
  const blob = (digest: string) => readFileSync(join(layoutDir, 'blobs', ...digest.split(':')), 'utf8');
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as
    { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`${layoutDir}: no image tagged ${tag}`);
  const manifest = JSON.parse(blob(entry.digest)) as { config: { digest: string } };
  return manifest.config.digest.replace(/^sha256:/, '');
}

/** Makes `tag` of an OCI layout available to podman as `name` (loads it unless already there). */
export async function loadLayout(layoutDir: string, name: string, tag = 'latest'): Promise<string> {
  const id = layoutImageId(layoutDir, tag);
  const present = await podman(['image', 'inspect', '--format', '{{.Id}}', name]).then((r) => r.stdout.trim(), () => '');
  if (present === id) return name;
  const has = await podman(['image', 'exists', id]).then(() => true, () => false);
  if (!has) {
    await new Promise<void>((resolve, reject) => {
      const tar = spawn('tar', ['-C', layoutDir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const load = spawn('podman', [...podmanArgs(), 'load', '-q'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      load.stderr.on('data', (d: Buffer) => { stderr += d; });
      tar.stdout.pipe(load.stdin);
      tar.on('error', reject);
      load.on('error', reject);
      load.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`podman load of ${layoutDir} failed: ${stderr.trim()}`))));
    });
  }
  await podman(['tag', id, name]);
  // `podman load` names an oci-archive after its ref annotation ("localhost/latest:latest")
  if (!has) await podman(['untag', id, `localhost/${tag}:${tag}`]).catch(() => undefined);
  return name;
}
