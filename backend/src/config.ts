/**
 * Configuration: trainyard.yaml (--config or TRAINYARD_CONFIG) validated with
 * the shared Config schema, layered over the embedded defaults. Everything
 * resolved here is absolute and complete, so the rest of the backend never
 * deals with "maybe unset".
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { isAbsolute, join, resolve, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Compile } from 'typebox/compile';
import { Config, type HardwareProfile } from '@trainyard/shared';
import { isLoopbackHost } from '@trainyard/shared/loopback';
import { DEFAULT_COMPRESSION, parseCompression, type Compression } from './images/compression';
import { dataHome } from './data-home';
import { profileProblems, profileSchemaHint } from './hardware/profile-checks';

export interface ResolvedConfig {
  home: string;
  server: { host: string; port: number; bodyLimitBytes: number; maxEventStreamsPerToken: number; streamBufferBytes: number };
  store: { url: string; connectTimeoutMs: number; statementTimeoutMs: number };
  images: {
    registry: string;
    maxFileBytes: number;
    compression: Compression;
    /** registry hosts a base image may name; null: the image store's own registry only (images/image-sources.ts) */
    allowedRegistries: string[] | null;
    /** whether a base image may be an OCI layout path on this server's disk (default: the embedded mode) */
    allowLayoutPaths: boolean;
  };
  executor: {
    kind: 'local' | 'kubernetes';
    local: { maxConcurrent: number; podman: 'auto' | 'always' | 'never'; python: string };
    kubernetes: { kubeconfig: string | null; namespace: string; backendUrl: string | null; requestTimeoutMs: number };
  };
  artifacts: { maxFiles: number; maxBytes: number; keepRuns: number; keepDays: number };
  hardware: HardwareProfile[];
  defaults: { hardware: string; maxDurationMinutes: number };
}

export const DEFAULT_HARDWARE: HardwareProfile[] = [
  { name: 'cpu-small', description: '1 CPU core, 2 GiB', cpu: 1, memory: '2Gi', pricePerHour: 0.05 },
  { name: 'cpu-large', description: '4 CPU cores, 16 GiB', cpu: 4, memory: '16Gi', pricePerHour: 0.2 },
  {
    name: 'gpu-t4',
    description: '1 NVIDIA T4, 4 cores, 16 GiB',
    cpu: 4,
    memory: '16Gi',
    gpu: { type: 'nvidia-tesla-t4', count: 1 },
    nodeSelector: { 'trainyard.dev/gpu': 'nvidia-tesla-t4' },
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    pricePerHour: 0.53,
  },
];

const checkConfig = Compile(Config);

export class ConfigError extends Error {}

export { dataHome };

export function loadConfig(file?: string | null): ResolvedConfig {
  const path = file ?? process.env.TRAINYARD_CONFIG ?? null;
  let raw: unknown = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return resolveConfig(raw, path ? dirname(resolve(path)) : process.cwd(), path ?? 'defaults');
}

/** the namespace of the pod this backend runs in (its ServiceAccount's), or null outside a cluster */
function inClusterNamespace(file = '/var/run/secrets/kubernetes.io/serviceaccount/namespace'): string | null {
  try {
    return readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/**
 * The embedded mode: the server is bound to a loopback address and its admin token is the data-home
 * token file (TRAINYARD_TOKEN unset), i.e. one person on their own machine. A team's server is not.
 */
export function embeddedMode(serverHost: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return isLoopbackHost(serverHost) && !env.TRAINYARD_TOKEN?.trim();
}

export function resolveConfig(raw: unknown, baseDir: string, source = 'config', env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  if (!checkConfig.Check(raw)) {
    const first = [...checkConfig.Errors(raw)].slice(0, 5);
    const lines = first.map((e) => profileSchemaHint(e.instancePath, raw) ?? `${e.instancePath || '/'}: ${e.message}`);
    throw new ConfigError(`invalid ${source}: ${lines.join('; ')}`);
  }
  const c = raw as Config;
  const home = dataHome();
  const hardware = c.hardware ?? DEFAULT_HARDWARE;
  const problems = profileProblems(hardware);
  if (problems.length) throw new ConfigError(`invalid ${source}: ${problems.join('; ')}`);
  const names = new Set(hardware.map((h) => h.name));
  const defaultHardware = c.defaults?.hardware ?? hardware[0].name;
  if (!names.has(defaultHardware)) {
    throw new ConfigError(`invalid ${source}: defaults.hardware "${defaultHardware}" is not one of the hardware profiles (${[...names].join(', ')})`);
  }
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  // a team's deploy gives the store URL (it holds a password) as TRAINYARD_STORE_URL, from a Secret
  const envStore = env.TRAINYARD_STORE_URL?.trim();
  if (envStore !== undefined && envStore !== '' && !/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(envStore)) {
    throw new ConfigError(`TRAINYARD_STORE_URL must be postgres://user:password@host:5432/db (or sqlite:<path>); its scheme is ${JSON.stringify(envStore.split(":")[0])}`);
  }
  let storeUrl = envStore || c.store?.url || `sqlite:${join(home, 'trainyard.db')}`;
  if (c.store?.requirePostgres && !/^postgres(ql)?:\/\//.test(storeUrl)) {
    throw new ConfigError(`invalid ${source}: store.requirePostgres is set but the store is ${storeUrl.split(':')[0]}; give the PostgreSQL URL as store.url or TRAINYARD_STORE_URL (e.g. from a Secret)`);
  }
  if (storeUrl.startsWith('sqlite:') && storeUrl !== 'sqlite::memory:') storeUrl = `sqlite:${abs(storeUrl.slice(7))}`;
  let registry = c.images?.registry ?? `oci-layout:${join(home, 'images')}`;
  if (registry.startsWith('oci-layout:')) registry = `oci-layout:${abs(registry.slice(11))}`;
  else if (!/^https?:\/\//.test(registry)) {
    throw new ConfigError(`invalid ${source}: images.registry must be oci-layout:<dir> or an http(s):// registry URL (got ${JSON.stringify(registry)})`);
  }
  let compression = DEFAULT_COMPRESSION;
  try {
    if (c.images?.compression !== undefined) compression = parseCompression(c.images.compression);
  } catch (err) {
    throw new ConfigError(`invalid ${source}: ${(err as Error).message}`);
  }
  const serverHost = c.server?.host ?? '127.0.0.1';
  return {
    home,
    server: {
      host: serverHost,
      port: c.server?.port ?? 7878,
      bodyLimitBytes: c.server?.bodyLimitBytes ?? 64 * 1024 * 1024,
      maxEventStreamsPerToken: c.server?.maxEventStreamsPerToken ?? 32,
      streamBufferBytes: c.server?.streamBufferBytes ?? 1024 * 1024,
    },
    store: { url: storeUrl, connectTimeoutMs: c.store?.connectTimeoutMs ?? 10_000, statementTimeoutMs: c.store?.statementTimeoutMs ?? 30_000 },
    images: {
      registry,
      maxFileBytes: c.images?.maxFileBytes ?? 512 * 1024 * 1024,
      compression,
      allowedRegistries: c.images?.allowedRegistries ?? null,
      allowLayoutPaths: c.images?.allowLayoutPaths ?? embeddedMode(serverHost, env),
    },
    executor: {
      kind: c.executor?.kind ?? 'local',
      local: {
        maxConcurrent: c.executor?.local?.maxConcurrent ?? Math.max(2, cpus().length),
        podman: c.executor?.local?.podman ?? 'auto',
        python: c.executor?.local?.python ?? 'python3',
      },
      kubernetes: {
        kubeconfig: c.executor?.kubernetes?.kubeconfig ? abs(c.executor.kubernetes.kubeconfig) : null,
        namespace: c.executor?.kubernetes?.namespace ?? (c.executor?.kubernetes?.kubeconfig ? null : inClusterNamespace()) ?? 'trainyard',
        // TRAINYARD_BACKEND_URL: set per pod (e.g. from its IP through the downward API) where the Service does not route
        backendUrl: (env.TRAINYARD_BACKEND_URL?.trim() || c.executor?.kubernetes?.backendUrl)?.replace(/\/+$/, '') ?? null,
        requestTimeoutMs: Math.round((c.executor?.kubernetes?.requestTimeoutSeconds ?? 30) * 1000),
      },
    },
    artifacts: {
      maxFiles: c.artifacts?.maxFiles ?? 10_000,
      maxBytes: c.artifacts?.maxBytes ?? 10 * 1024 ** 3,
      keepRuns: c.artifacts?.keepRuns ?? 50,
      keepDays: c.artifacts?.keepDays ?? 30,
    },
    hardware,
    defaults: { hardware: defaultHardware, maxDurationMinutes: c.defaults?.maxDurationMinutes ?? 60 },
  };
}
