// The Kubernetes test rig for mocha suites: startCluster() runs test/k8s/up.sh with a fresh
// state directory (building or reusing the cached binaries), stop() runs down.sh (by pid).
// Helpers create a namespace per test, apply the deploy/ RBAC manifests and hand out a
// KubeClients authenticated as the trainyard ServiceAccount (a token from the TokenRequest
// API), so a verb missing from deploy/role.yaml fails the test that needs it.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { kubeClients, type KubeClients } from '../../backend/src/executors/kubernetes/client';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../..');

export interface ClusterInfo {
  state: string;
  kubeconfig: string;
  server: string;
  apiPort: number;
  etcdPort: number;
  kwokPort: number;
  pki: string;
  bin: string;
  /** the rig's registry (http://127.0.0.1:PORT), "" without the real node */
  registry: string;
}

export class Cluster {
  readonly admin: KubeClients;
  readonly objects: KubernetesObjectApi;
  constructor(readonly info: ClusterInfo) {
    const kc = new KubeConfig();
    kc.loadFromFile(info.kubeconfig);
    this.admin = clients(kc);
    this.objects = KubernetesObjectApi.makeApiClient(kc);
  }

  async stop(): Promise<void> {
    await run('bash', [join(HERE, 'down.sh'), this.info.state], { timeout: 60_000 });
    rmSync(this.info.state, { recursive: true, force: true });
  }

  /** kills the API server (by its recorded pid; SIGKILL: a crash) and starts it again with the same flags after downMs */
  async restartApiServer(downMs = 1000, signal: NodeJS.Signals = 'SIGKILL', extraArgs: string[] = []): Promise<void> {
    const pidsFile = join(this.info.state, 'pids');
    const lines = readFileSync(pidsFile, 'utf8').trim().split('\n');
    const line = lines.find((l) => l.startsWith('kube-apiserver '))!;
    const pid = Number(line.split(' ')[1]);
    process.kill(pid, signal);
    for (let i = 0; i < 600 && alive(pid); i++) await sleep(100);
    if (alive(pid)) throw new Error(`kube-apiserver ${pid} did not exit after ${signal}`);
    await sleep(downMs);
    // a killed process can read as gone (a zombie leader) while its other threads still hold the
    // listening socket: start the new one only once the port can be bound
    await waitPortFree(this.info.apiPort, 60_000);
    const args = [...readFileSync(join(this.info.state, 'apiserver.args'), 'utf8').trim().split('\n'), ...extraArgs];
    const logFile = join(this.info.state, 'logs', 'kube-apiserver.log');
    const out = openSync(logFile, 'a');
    let child = spawn(join(this.info.bin, 'kube-apiserver'), args, { detached: true, stdio: ['ignore', out, out] });
    // if the port was taken again in the instant between the check and the bind, try again
    for (let attempt = 1; attempt < 5; attempt++) {
      const exited = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 3000);
        child.once('exit', () => (clearTimeout(t), resolve(true)));
      });
      if (!exited || !/address already in use/.test(readFileSync(logFile, 'utf8').trim().split('\n').slice(-1)[0] ?? '')) break;
      await waitPortFree(this.info.apiPort, 60_000);
      child = spawn(join(this.info.bin, 'kube-apiserver'), args, { detached: true, stdio: ['ignore', out, out] });
    }
    child.unref();
    writeFileSync(pidsFile, lines.filter((l) => l !== line).join('\n') + '\n');
    appendFileSync(pidsFile, `kube-apiserver ${child.pid}\n`);
    try {
      await this.waitReady();
    } catch (err) {
      const log = readFileSync(join(this.info.state, 'logs', 'kube-apiserver.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
      throw new Error(`${(err as Error).message}; alive=${alive(child.pid!)}; the restarted kube-apiserver logged:\n${log}`);
    }
  }

  /** compacts etcd's history up to its current revision (through etcd's JSON gateway): older resourceVersions are gone */
  async compactEtcd(): Promise<number> {
    const base = `http://127.0.0.1:${this.info.etcdPort}/v3`;
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<{ header: { revision: string } }>;
    };
    const status = await post('/maintenance/status', {});
    const revision = Number(status.header.revision);
    await post('/kv/compaction', { revision, physical: true });
    return revision;
  }

  async waitReady(timeoutMs = 120_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.admin.core.listNamespace({ limit: 1 });
        return;
      } catch (err) {
        if (Date.now() > until) throw new Error(`API server not ready: ${(err as Error).message}`);
        await sleep(300);
      }
    }
  }

  /** a fresh namespace with its default ServiceAccount (pods need it before they can be created) */
  async namespace(prefix: string): Promise<string> {
    const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
    await this.admin.core.createNamespace({ body: { metadata: { name } } });
    await until(async () => {
      try {
        await this.admin.core.readNamespacedServiceAccount({ name: 'default', namespace: name });
        return true;
      } catch {
        return false;
      }
    }, 'the default ServiceAccount (the controller manager makes it; after an API server restart it may take a while to reconnect)', 120_000);
    return name;
  }

  /** applies deploy/<files> into namespace (namespaced objects moved there; cluster-scoped ones named per namespace) */
  async applyDeploy(namespace: string, files: string[]): Promise<void> {
    for (const f of files) {
      const text = readFileSync(join(REPO, 'deploy', f), 'utf8');
      for (const doc of parseAllDocuments(text)) {
        const obj = doc.toJS() as KubernetesObject & { subjects?: Array<{ namespace?: string }>; roleRef?: { kind: string; name: string } };
        if (!obj) continue;
        const clusterScoped = obj.kind === 'ClusterRole' || obj.kind === 'ClusterRoleBinding';
        if (clusterScoped) {
          obj.metadata!.name = `${obj.metadata!.name}-${namespace}`;
          delete obj.metadata!.namespace;
        } else obj.metadata!.namespace = namespace;
        if (obj.roleRef?.kind === 'ClusterRole') obj.roleRef.name = `${obj.roleRef.name}-${namespace}`;
        for (const s of obj.subjects ?? []) s.namespace = namespace;
        await this.objects.create(obj);
      }
    }
  }

  /** KubeClients authenticated as ServiceAccount `name` in namespace, by a TokenRequest token */
  async serviceAccountClients(namespace: string, name = 'trainyard'): Promise<KubeClients> {
    const kc = new KubeConfig();
    kc.loadFromFile(await this.serviceAccountKubeconfig(namespace, name));
    return clients(kc);
  }

  /** a kubeconfig file (in the rig's state dir) for ServiceAccount `name`, with a TokenRequest token */
  async serviceAccountKubeconfig(namespace: string, name = 'trainyard'): Promise<string> {
    const tr = await this.admin.core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600 } },
    });
    const file = join(this.info.state, `${namespace}-${name}.kubeconfig`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'rig', cluster: { server: this.info.server, 'certificate-authority': join(this.info.pki, 'ca.crt') } }],
        users: [{ name, user: { token: tr.status!.token } }],
        contexts: [{ name: 'rig', context: { cluster: 'rig', user: name, namespace } }],
        'current-context': 'rig',
      }),
    );
    return file;
  }
}

export function clients(kc: KubeConfig, requestTimeoutMs?: number): KubeClients {
  return kubeClients(k8s, kc, requestTimeoutMs);
}

/** running (a zombie, which no init may reap here, counts as gone) */
async function waitPortFree(port: number, timeoutMs: number): Promise<void> {
  const { createServer } = await import('node:net');
  const until = Date.now() + timeoutMs;
  for (;;) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return;
    if (Date.now() > until) throw new Error(`port ${port} is still in use ${timeoutMs} ms after the API server was killed`);
    await sleep(200);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(pred: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * starts a rig for one suite (call in before(), with this.timeout() long enough for a cold build);
 * gpuNodes: how many kwok-gpu-t4-N nodes (default 1); realNode: also the real node ty-real-1 and
 * the rig's registry (default: kwok nodes only, so suites that need no real container start fast);
 * apiServerArgs: more kube-apiserver flags, each without spaces, made from the state dir (e.g. an audit log)
 */
export async function startCluster(opts: { gpuNodes?: number; realNode?: boolean; apiServerArgs?: (state: string) => string[] } = {}): Promise<Cluster> {
  const state = mkdtempSync(join(tmpdir(), 'trainyard-k8s-'));
  try {
    const env = {
      ...process.env,
      TY_K8S_REAL_NODE: opts.realNode ? '1' : '0',
      ...(opts.gpuNodes === undefined ? {} : { TY_K8S_GPU_NODES: String(opts.gpuNodes) }),
      ...(opts.apiServerArgs ? { TY_K8S_APISERVER_ARGS: opts.apiServerArgs(state).join(' ') } : {}),
    };
    const { stdout } = await run('bash', [join(HERE, 'up.sh'), state], { timeout: 3 * 60 * 60 * 1000, maxBuffer: 16 * 1024 * 1024, env });
    const kubeconfig = stdout.trim().split('\n').pop()!;
    const info = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8')) as ClusterInfo;
    if (info.kubeconfig !== kubeconfig) throw new Error(`up.sh printed ${kubeconfig}, expected ${info.kubeconfig}`);
    if (opts.realNode && !stdout.split('\n').includes(`registry: ${info.registry}`)) throw new Error(`up.sh did not print "registry: ${info.registry}": ${stdout}`);
    const c = new Cluster(info);
    await c.waitReady();
    return c;
  } catch (err) {
    await run('bash', [join(HERE, 'down.sh'), state]).catch(() => undefined);
    const e = err as Error & { stderr?: string };
    throw new Error(`could not start the Kubernetes test rig: ${e.message}\n${(e.stderr ?? '').slice(-3000)}`);
  }
}
