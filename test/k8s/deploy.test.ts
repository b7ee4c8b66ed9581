// A team's deploy, on the real control plane: the backend's image built and pushed by
// `image:backend` (deploy/image/build.ts), deploy/ rendered with it pinned by digest, every
// manifest through a server-side dry run, the ServiceAccount's RBAC proven sufficient and minimal
// by SubjectAccessReviews, and then the rendered deploy applied: the backend runs as a pod on the
// rig's REAL node (test/k8s/real-node.sh) with its ServiceAccount and in-cluster config, PostgreSQL
// (the one the test setup runs on the host) as its store, and a version saved through its API
// runs to Succeeded as a Job it created from inside the cluster.
//
// The rig's limits, and what this test does about them (deploy/README.md says the same):
// - No kube-proxy and no endpoints for the `kubernetes` Service (the API server runs with
//   --endpoint-reconciler-type none), so the Service IP that in-cluster config reads from
//   KUBERNETES_SERVICE_HOST routes nowhere. The rig's overlay points the pod at the API server
//   explicitly: KUBERNETES_SERVICE_HOST=kubernetes.default.svc (a name on its certificate),
//   resolved by hostAliases to the real node's address, where a TCP relay on the host passes the
//   bytes to the API server on loopback (TLS end to end; the pod checks the rig CA).
// - The API server, the registry and PostgreSQL listen on loopback: pods reach the host only at
//   the node's address (its bridge's gateway), so each gets such a relay there.
// - No cluster DNS and no Service routing: run pods reach the backend at its pod IP
//   (TRAINYARD_BACKEND_URL from the downward API), not at http://trainyard:7878.
// - The bridge CNI enforces no NetworkPolicy: the policies pass the dry run and are applied,
//   but nothing here shows them blocking traffic.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { AuthorizationV1Api, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import pg from 'pg';
import { parseAllDocuments, stringify } from 'yaml';
import { TrainyardClient } from '@trainyard/shared';
import { saveWorkspace } from '@trainyard/shared/snapshot/save';
import { ensureBaseImage } from '../components/base-image';
import { freshStore, type TestStore } from '../helpers/stores';
import { REPO, waitForRuns } from '../helpers/backend';
import { startCluster, until, type Cluster } from './cluster';

const run = promisify(execFile);
/** the rig's own kubectl (test/k8s/build.sh kubectl: the server's version), else the one on PATH */
let kubectlBin: string | undefined;
const KUBECTL = () => {
  if (kubectlBin) return kubectlBin;
  const rig = join(execFileSync('bash', [join(REPO, 'test/k8s/build.sh'), 'kubectl'], { encoding: 'utf8', timeout: 60 * 60_000 }).trim(), 'kubectl');
  return (kubectlBin = existsSync(rig) ? rig : 'kubectl');
};
/** the real node's address, the gateway of its bridge (test/k8s/real-node.sh): pods reach the host there */
const NODE_IP = '10.244.77.1';
const REAL = { nodeSelector: { 'trainyard.dev/node': 'real' }, tolerations: [{ key: 'trainyard.dev/node', operator: 'Equal', value: 'real', effect: 'NoSchedule' }] };

/**
 * Every call the Kubernetes executor makes, read from its source (backend/src/executors/kubernetes/*.ts):
 * the typed client's methods (listNamespacedJob, readNamespacedPodLog, listNode, …) and the informers'
 * list+watch paths, as "verb group/resource". A call added there without its verb in deploy/ fails here.
 */
function executorCalls(): { namespaced: string[]; cluster: string[] } {
  const dir = join(REPO, 'backend/src/executors/kubernetes');
  const src = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  const VERB: Record<string, string> = { list: 'list', read: 'get', create: 'create', delete: 'delete', deleteCollection: 'deletecollection', replace: 'update', patch: 'patch' };
  const KIND: Record<string, string> = { Job: 'batch/jobs', CronJob: 'batch/cronjobs', Pod: '/pods', PodLog: '/pods/log', ConfigMap: '/configmaps', Secret: '/secrets', Event: '/events', Node: '/nodes' };
  const kind = (k: string, call: string) => KIND[k] ?? assert.fail(`the executor calls ${call}: add ${k} to this test's KIND map`);
  const namespaced = new Set<string>();
  const cluster = new Set<string>();
  for (const m of src.matchAll(/\b(list|read|create|deleteCollection|delete|replace|patch)Namespaced([A-Z]\w*?)(Status)?\(/g)) namespaced.add(`${VERB[m[1]]} ${kind(m[2], m[0])}${m[3] ? '/status' : ''}`);
  for (const m of src.matchAll(/\b(list)([A-Z]\w*?)ForAllNamespaces\(/g)) cluster.add(`${VERB[m[1]]} ${kind(m[2], m[0])}`);
  for (const m of src.matchAll(/\b(list|read)(Node|Namespace)\(/g)) cluster.add(`${VERB[m[1]]} ${kind(m[2], m[0])}`);
  for (const m of src.matchAll(/path: `\/apis?\/(?:([a-z.]+)\/)?v1\/namespaces\/\$\{[^}]+\}\/([a-z]+)`/g)) {
    namespaced.add(`list ${m[1] ?? ''}/${m[2]}`); // an informer lists, then watches
    namespaced.add(`watch ${m[1] ?? ''}/${m[2]}`);
  }
  for (const m of src.matchAll(/path: '\/api\/v1\/([a-z]+)'/g)) {
    cluster.add(`list /${m[1]}`); // a cluster-wide informer (nodes, the pods that hold resources)
    cluster.add(`watch /${m[1]}`);
  }
  return { namespaced: [...namespaced].sort(), cluster: [...cluster].sort() };
}
const rbacKey = (verb: string, group: string, resource: string) => `${verb} ${group}/${resource}`;
const parseKey = (k: string) => { const [verb, gr] = k.split(' '); const i = gr.indexOf('/'); return { verb, group: gr.slice(0, i), resource: gr.slice(i + 1) }; };
/** a sample of what the backend must not be able to do */
const REFUSED: Array<[string, string, string, 'ns' | 'cluster' | 'other-ns']> = [
  ['get', '', 'secrets', 'ns'], ['list', '', 'secrets', 'ns'], ['delete', '', 'secrets', 'ns'],
  ['create', '', 'pods/exec', 'ns'], ['create', '', 'pods', 'ns'], ['update', 'batch', 'jobs', 'ns'], ['patch', 'batch', 'jobs', 'ns'],
  ['delete', '', 'configmaps', 'ns'], ['list', '', 'configmaps', 'ns'], ['create', 'apps', 'deployments', 'ns'],
  ['create', 'rbac.authorization.k8s.io', 'roles', 'ns'], ['create', 'rbac.authorization.k8s.io', 'rolebindings', 'ns'],
  ['create', 'batch', 'jobs', 'other-ns'], ['delete', '', 'pods', 'other-ns'], ['get', '', 'pods/log', 'other-ns'],
  ['delete', '', 'nodes', 'cluster'], ['get', '', 'nodes', 'cluster'], ['list', '', 'namespaces', 'cluster'], ['list', '', 'secrets', 'cluster'],
];

/** a TCP relay on the node's address to a port on this machine's loopback (what pods cannot reach) */
async function relay(port: number): Promise<Server & { port: number }> {
  const server = createServer((down) => {
    const up = connect(port, '127.0.0.1');
    down.pipe(up).pipe(down);
    const end = () => (down.destroy(), up.destroy());
    down.on('error', end);
    up.on('error', end);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, NODE_IP, resolve));
  return Object.assign(server, { port: (server.address() as { port: number }).port });
}

describe("the team's deploy (deploy/) on the rig's real node", function () {
  this.timeout(240_000);
  let cluster: Cluster;
  let store: TestStore;
  let work: string;
  const relays: Server[] = [];
  let ns: string;
  let pinned: string;
  let rendered: { base: string; rig: string };
  let registryAtNode: string;
  let imageSeconds: number;
  let storeUrlAtNode: string;

  before(async function () {
    this.timeout(3 * 60 * 60 * 1000); // a fresh machine builds the rig's binaries and base images first
    const pythonBase = await ensureBaseImage();
    cluster = await startCluster({ realNode: true });
    work = mkdtempSync(join(tmpdir(), 'ty-deploy-'));
    const reg = Number(new URL(cluster.info.registry).port);
    const [api, regRelay] = [await relay(cluster.info.apiPort), await relay(reg)];
    relays.push(api, regRelay);
    registryAtNode = `${NODE_IP}:${regRelay.port}`;
    // containerd pulls run images by the name the backend records (the registry at the node's address), over plain HTTP
    const hosts = join(cluster.info.state, 'real-node/containerd/certs.d', registryAtNode);
    mkdirSync(hosts, { recursive: true });
    writeFileSync(join(hosts, 'hosts.toml'), `server = "http://${registryAtNode}"\n[host."http://${registryAtNode}"]\n  capabilities = ["pull", "resolve"]\n`);
    // the base image of the saved version, in the rig's registry (a pod backend reads no OCI layout on this machine)
    await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${pythonBase}:latest`, `docker://127.0.0.1:${reg}/base/debian-python3:latest`], { timeout: 120_000 });

    store = await freshStore('postgres');
    const pgRelay = await relay(Number(new URL(store.url).port));
    relays.push(pgRelay);
    const storeUrl = new URL(store.url);
    storeUrl.host = `${NODE_IP}:${pgRelay.port}`;
    storeUrlAtNode = storeUrl.toString();

    ns = await cluster.namespace('tyd');
    const overlay = join(work, 'rig');
    mkdirSync(overlay);
    writeFileSync(join(overlay, 'kustomization.yaml'), stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: ns,
      resources: [relative(overlay, join(REPO, 'deploy'))],
      patches: [{ path: 'deployment.yaml' }, { path: 'configmap.yaml' }],
    }));
    writeFileSync(join(overlay, 'deployment.yaml'), stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'trainyard', namespace: 'trainyard' }, // a patch names its target as the base has it
      spec: {
        template: {
          spec: {
            ...REAL,
            hostAliases: [{ ip: NODE_IP, hostnames: ['kubernetes.default.svc'] }],
            containers: [{
              name: 'backend',
              resources: { requests: { cpu: '100m', memory: '128Mi' } },
              env: [
                { name: 'KUBERNETES_SERVICE_HOST', value: 'kubernetes.default.svc' },
                { name: 'KUBERNETES_SERVICE_PORT', value: String(api.port) },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'TRAINYARD_BACKEND_URL', value: 'http://$(POD_IP):7878' },
              ],
            }],
          },
        },
      },
    }));
    const base = parseAllDocuments(readFileSync(join(REPO, 'deploy/configmap.yaml'), 'utf8'))[0].toJS();
    const config = parseAllDocuments(base.data['trainyard.yaml'])[0].toJS();
    config.images.registry = `http://${registryAtNode}/team`;
    config.hardware.push({ name: 'cpu-real', cpu: 0.5, memory: '256Mi', pricePerHour: 1, ...REAL });
    writeFileSync(join(overlay, 'configmap.yaml'), stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'trainyard-config', namespace: 'trainyard' }, data: { 'trainyard.yaml': stringify(config) } }));

    // image:backend, as `npm run image:backend` runs it after the build: built, pushed, rendered
    const t0 = Date.now();
    const { stdout } = await run('node', ['--import', 'tsx', 'deploy/image/build.ts', '--registry', `${cluster.info.registry}/trainyard`, '--kustomize', overlay, '--out', join(work, 'rig.yaml')], { cwd: REPO, timeout: 600_000, env: { ...process.env, KUBECTL: KUBECTL() } });
    imageSeconds = (Date.now() - t0) / 1000;
    pinned = stdout.trim();
    const { stdout: again } = await run('node', ['--import', 'tsx', 'deploy/image/build.ts', '--registry', `${cluster.info.registry}/trainyard`, '--out', join(work, 'base.yaml')], { cwd: REPO, timeout: 600_000, env: { ...process.env, KUBECTL: KUBECTL() } });
    assert.equal(again.trim(), pinned, 'the same sources give the same image digest');
    rendered = { base: join(work, 'base.yaml'), rig: join(work, 'rig.yaml') };

    await cluster.admin.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'trainyard-store' }, stringData: { url: storeUrl.toString() } } });
    await cluster.admin.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'trainyard-token' }, stringData: { token: `ty_team_admin_${'x'.repeat(32)}` } } });
  });
  after(async () => {
    for (const r of relays) r.close();
    await cluster?.stop();
    await store?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const kubectl = (...args: string[]) => run(KUBECTL(), ['--kubeconfig', cluster.info.kubeconfig, ...args], { timeout: 120_000, maxBuffer: 16 << 20 });

  it('image:backend pushes the image and pins it by digest in every rendered Deployment', async () => {
    assert.match(pinned, new RegExp(`^127\\.0\\.0\\.1:\\d+/trainyard/trainyard-backend@sha256:[0-9a-f]{64}$`));
    for (const file of [rendered.base, rendered.rig]) {
      const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
      const deployment = docs.find((d) => d.kind === 'Deployment');
      assert.equal(deployment.spec.template.spec.containers[0].image, pinned, file);
    }
    // what the registry holds under that digest: a non-root image of three layers, small
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${pinned}`])).stdout);
    const cfg = JSON.parse((await run('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${pinned}`])).stdout);
    const mib = (raw.layers as Array<{ size: number }>).reduce((n, l) => n + l.size, 0) / 1048576;
    assert.equal(raw.layers.length, 3);
    assert.equal(cfg.config.User, '10001:10001');
    assert.ok(mib < 60, `${mib.toFixed(1)} MiB compressed (44 when written: node 40, libraries 3, the backend 1)`);
    console.log(`      image:backend: ${mib.toFixed(1)} MiB compressed, ${imageSeconds.toFixed(1)} s (built, pushed and rendered)`);
  });

  it('every manifest passes a server-side dry run, the base as rendered and the rig overlay', async () => {
    await cluster.admin.core.createNamespace({ body: { metadata: { name: 'trainyard' } } });
    for (const [file, namespace] of [[rendered.base, 'trainyard'], [rendered.rig, ns]] as const) {
      const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
      const kinds = docs.map((d) => d.kind).sort();
      assert.deepEqual(kinds, ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'NetworkPolicy', 'NetworkPolicy', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
      const { stdout } = await kubectl('apply', '--dry-run=server', '-f', file, '-o', 'name');
      assert.equal(stdout.trim().split('\n').length, docs.length, stdout);
      for (const d of docs) if (d.metadata.namespace) assert.equal(d.metadata.namespace, namespace);
    }
    // nothing was created by the dry runs
    const { items } = await cluster.admin.core.listNamespacedServiceAccount({ namespace: 'trainyard' });
    assert.ok(!items.some((s) => s.metadata!.name === 'trainyard'), 'the dry run created no ServiceAccount');
    assert.equal((await cluster.admin.batch.listNamespacedJob({ namespace: 'trainyard' })).items.length, 0);
  });

  it('the RBAC is sufficient and minimal: every call of the executor is allowed, nothing else in the Role, a sample refused', async () => {
    await kubectl('apply', '-f', rendered.rig);
    const authz = cluster.admin.kc.makeApiClient(AuthorizationV1Api);
    const user = `system:serviceaccount:${ns}:trainyard`;
    const other = await cluster.namespace('tyo');
    const allowed = async (verb: string, group: string, resource: string, namespace?: string) => {
      const [res, sub] = resource.split('/');
      const r = await authz.createSubjectAccessReview({
        body: { spec: { user, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'], resourceAttributes: { verb, group, resource: res, subresource: sub, namespace } } },
      });
      return r.status!.allowed;
    };
    const calls = executorCalls();
    // the scan finds what the executor is known to do (so an empty scan cannot pass)
    for (const k of ['create batch/jobs', 'watch /pods', 'get /pods/log', 'create /secrets']) assert.ok(calls.namespaced.includes(k), `${k} in ${calls.namespaced.join(', ')}`);
    assert.ok(calls.cluster.includes('list /nodes'), calls.cluster.join(', '));
    // the API server's RBAC authorizer sees new bindings through its informers, a moment after the apply
    await until(() => allowed('list', '', 'nodes'), 'the ClusterRoleBinding to take effect', 20_000);
    for (const k of calls.namespaced) {
      const { verb, group, resource } = parseKey(k);
      assert.ok(await allowed(verb, group, resource, ns), `${k} in ${ns} must be allowed`);
    }
    for (const k of calls.cluster) {
      const { verb, group, resource } = parseKey(k);
      assert.ok(await allowed(verb, group, resource), `${k} cluster-wide must be allowed`);
    }
    for (const [verb, group, resource, where] of REFUSED) {
      const namespace = where === 'ns' ? ns : where === 'other-ns' ? other : undefined;
      assert.equal(await allowed(verb, group, resource, namespace), false, `${verb} ${group}/${resource} ${where} must be refused`);
    }
    // minimal: the rules grant exactly the needed verbs (no wildcard, no extra verb or resource)
    const rbac = cluster.admin.kc.makeApiClient(RbacAuthorizationV1Api);
    const grants = (rules: V1PolicyRule[]) => rules.flatMap((r) => r.apiGroups!.flatMap((g) => r.resources!.flatMap((res) => r.verbs.map((v) => rbacKey(v, g, res))))).sort();
    assert.deepEqual(grants((await rbac.readNamespacedRole({ name: 'trainyard-executor', namespace: ns })).rules!), calls.namespaced);
    assert.deepEqual(grants((await rbac.readClusterRole({ name: 'trainyard-capacity' })).rules!), calls.cluster);
  });

  it("the rig has no kube-proxy: the `kubernetes` Service has no endpoints, so the pod is pointed at the API server's reachable address", async () => {
    const svc = await cluster.admin.core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
    assert.equal(svc.spec!.clusterIP, '10.0.0.1');
    const eps = await cluster.admin.core.readNamespacedEndpoints({ name: 'kubernetes', namespace: 'default' }).catch(() => null);
    assert.ok(!eps?.subsets?.length, `no endpoints: ${JSON.stringify(eps?.subsets)}`);
    const pods = await cluster.admin.core.listNamespacedPod({ namespace: 'kube-system' });
    assert.ok(!pods.items.some((p) => /kube-proxy/.test(p.metadata!.name!)), 'no kube-proxy pod');
  });

  it('the backend runs as a pod on the real node with its ServiceAccount, and from inside the cluster launches a run that succeeds', async () => {
    await until(async () => {
      const d = await cluster.admin.kc.makeApiClient((await import('@kubernetes/client-node')).AppsV1Api).readNamespacedDeployment({ name: 'trainyard', namespace: ns });
      return (d.status?.availableReplicas ?? 0) === 1;
    }, 'the backend Deployment to be available', 150_000).catch(async (err) => {
      const { stdout } = await kubectl('-n', ns, 'describe', 'pods');
      const logs = await kubectl('-n', ns, 'logs', 'deploy/trainyard').then((r) => r.stdout, (e: Error) => e.message);
      throw new Error(`${(err as Error).message}\n${stdout.slice(-3000)}\n${logs.slice(-2000)}`);
    });
    const [pod] = (await cluster.admin.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/name=trainyard' })).items;
    assert.equal(pod.spec!.nodeName, 'ty-real-1');
    assert.equal(pod.spec!.serviceAccountName, 'trainyard');
    assert.equal(pod.status!.containerStatuses![0].imageID.replace(/^.*@/, ''), pinned.replace(/^.*@/, ''));
    assert.ok(pod.spec!.volumes!.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken)), 'the ServiceAccount token is mounted (in-cluster config)');
    assert.ok(!JSON.stringify(pod.spec).includes('kubeconfig'), 'no kubeconfig anywhere');

    const url = `http://${pod.status!.podIP}:7878`;
    const client = new TrainyardClient({ baseUrl: url, token: `ty_team_admin_${'x'.repeat(32)}` });
    assert.equal((await fetch(`${url}/v1/runs`, { headers: { Authorization: 'Bearer wrong' } })).status, 401, 'the admin token from the Secret, nothing else');
    // the dashboard ships in the image: its page and the script it names
    const page = await (await fetch(`${url}/`)).text();
    const script = /src="(assets\/[^"]+\.js)"/.exec(page)?.[1];
    assert.ok(script, page.slice(0, 500));
    assert.equal((await fetch(`${url}/${script}`)).status, 200);
    await saveWorkspace(client, { dir: join(REPO, 'test/fixtures/real-node'), model: 'probe', version: 'd1', baseImage: `${registryAtNode}/base/debian-python3:latest`, cacheDir: false });
    const v = await client.getVersion('probe', 'd1');
    assert.ok(v.imageRef.startsWith(`${registryAtNode}/team/probe:`), v.imageRef);
    const id = (await client.launch({ model: 'probe', version: 'd1', hardware: 'cpu-real', params: { mode: 'metric', value: 7 } })).runs[0].id;
    const [r] = await waitForRuns(client, [id], 150_000);
    assert.equal(r.status, 'Succeeded', r.reason ?? '');
    assert.deepEqual((await client.getMetrics(id)).series[0].points.map((p) => p.value), [7, 14, 21]);
    // the Job the pod's backend created, in its own namespace, on the real node
    const [job] = (await cluster.admin.batch.listNamespacedJob({ namespace: ns, labelSelector: `trainyard.dev/run-id=${id}` })).items;
    assert.ok(job, 'the Job is in the backend pod\'s namespace (read from its ServiceAccount)');
    const [runPod] = (await cluster.admin.core.listNamespacedPod({ namespace: ns, labelSelector: `trainyard.dev/run-id=${id}` })).items;
    assert.equal(runPod.spec!.nodeName, 'ty-real-1');
    // the NetworkPolicies select the pods the backend really makes (enforcing them is the network
    // plugin's job, and the rig's bridge CNI does not), and the store's address is one runs may not reach
    const policies = parseAllDocuments(readFileSync(rendered.rig, 'utf8')).map((d) => d.toJS()).filter((d) => d.kind === 'NetworkPolicy');
    const selects = (name: string, labels: Record<string, string> = {}) =>
      Object.entries(policies.find((p) => p.metadata.name === name).spec.podSelector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v);
    assert.ok(selects('trainyard-runs', runPod.metadata!.labels), `trainyard-runs selects the run pod (${JSON.stringify(runPod.metadata!.labels)})`);
    assert.ok(!selects('trainyard-runs', pod.metadata!.labels) && selects('trainyard-backend', pod.metadata!.labels), 'the backend pod is under trainyard-backend only');
    const runsPolicy = policies.find((p) => p.metadata.name === 'trainyard-runs');
    const toBackend = runsPolicy.spec.egress.find((e: { to?: Array<{ podSelector?: unknown }> }) => e.to?.some((t) => t.podSelector));
    assert.deepEqual(toBackend.ports, [{ protocol: 'TCP', port: 7878 }], 'runs reach the backend on its API port only');
    const inCidr = (ip: string, cidr: string) => {
      const [net, bits] = cidr.split('/');
      const n = (a: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
      const size = 2 ** (32 - Number(bits));
      return Math.floor(n(ip) / size) === Math.floor(n(net) / size);
    };
    const except: string[] = runsPolicy.spec.egress.flatMap((e: { to?: Array<{ ipBlock?: { except?: string[] } }> }) => e.to?.flatMap((t) => t.ipBlock?.except ?? []) ?? []);
    assert.ok(except.some((c) => inCidr(new URL(storeUrlAtNode).hostname, c)), `the store (${new URL(storeUrlAtNode).hostname}) is in ${except.join(', ')}`);
    // the run pushed its output to the backend at the pod IP (TRAINYARD_BACKEND_URL)
    assert.equal(await (await client.downloadArtifact(id, 'done.txt')).text(), 'ok value=7\n');
    // and the store is the PostgreSQL from the Secret
    const db = new pg.Client({ connectionString: store.url });
    await db.connect();
    try {
      const rows = await db.query('SELECT status FROM runs WHERE id = $1', [id]);
      assert.deepEqual(rows.rows, [{ status: 'Succeeded' }]);
    } finally {
      await db.end();
    }
  });
});
