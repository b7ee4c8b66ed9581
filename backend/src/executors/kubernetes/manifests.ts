/**
 * RunSpecs to Kubernetes objects. A run is a batch/v1 Job with one pod; a sweep is one
 * Indexed Job (completionMode Indexed, parallelism from the request, backoffLimitPerIndex 0
 * so one failing point fails only its own run) whose pods read their run id and params
 * from a ConfigMap keyed by completion index. Pods run the version's image by digest,
 * with the hardware profile's resources (requests = limits), nodeSelector and tolerations,
 * the max duration as activeDeadlineSeconds, as non-root without privilege escalation.
 */
import type { V1ConfigMap, V1Container, V1CronJob, V1Job, V1PodSpec, V1ResourceRequirements, V1Secret } from '@kubernetes/client-node';
import type { HardwareProfile } from '@trainyard/shared';
import type { RunSpec, ScheduleSpec } from '../executor';
import { cronJobSchedule } from './cron-expression';
import { ANNOTATION, configMapNameForSchedule, configMapNameForSweep, cronJobName, imageByDigest, jobNameForRun, jobNameForSweep, LABEL, labelValue, MANAGED_VALUE, tokenSecretName } from './names';

export interface ManifestOptions {
  namespace: string;
  /** how long a finished Job (and its pods) stays for inspection */
  ttlSecondsAfterFinished: number;
  /** extra pod annotations per run (e.g. for a mesh, or the test rig's kwok stages) */
  podAnnotations?: (spec: RunSpec) => Record<string, string>;
  /**
   * the backend's URL as pods reach it (executor.kubernetes.backendUrl): when set, each run ends
   * with the finish step that pushes its output directory there, with its run token
   */
  backendUrl?: string | null;
}

export const OUTPUT_DIR = '/tmp/trainyard-output';
export const PARAMS_DIR = '/etc/trainyard';

/**
 * The end of every run's shell: $TRAINYARD_COMMAND runs as a child, and SIGTERM (cancel, deadline,
 * eviction) is passed on to it. `sh` as PID 1 ignores SIGTERM, so without this the training code
 * would never see it and every stop would wait out the grace period for the SIGKILL. The exit
 * status is the command's (a second wait collects it after a trapped signal). Then the finish step
 * ($TRAINYARD_FINISH, in a subshell: it can neither exit nor change the status) runs.
 */
export const RUN_COMMAND =
  `sh -c "$TRAINYARD_COMMAND" & c=$!; trap 'kill -TERM $c 2>/dev/null' TERM INT; ` +
  `wait $c; s=$?; if [ $s -gt 128 ]; then wait $c; t=$?; [ $t -ne 127 ] && s=$t; fi; ` +
  `if [ -n "$TRAINYARD_FINISH" ]; then (eval "$TRAINYARD_FINISH"); fi; exit $s`;

/** where a pod finds its run token: TOKEN_DIR/token-<completion index> (a single run: index 0) */
export const TOKEN_DIR = '/var/run/trainyard-token';
/** run tokens per Secret: a Secret holds at most 1 MiB, and a token with its key is about 60 bytes */
export const TOKENS_PER_SECRET = 4000;

/**
 * The finish step (run after the command, whatever its exit code, and after a cancel's SIGTERM
 * within the grace period): the in-image trainyard module pushes TRAINYARD_OUTPUT_DIR to the
 * backend with the run's token. Skipped when the pod has no token (a schedule's fire). Its own
 * failure is logged and never changes the run's exit code.
 */
export const FINISH_STEP =
  `f="${TOKEN_DIR}/token-${'$'}{TRAINYARD_INDEX:-0}"; if [ -r "$f" ]; then TRAINYARD_RUN_TOKEN="$(cat "$f")" ` +
  `python3 -c 'import sys, trainyard; sys.exit(trainyard.push_outputs_main())' || true; fi`;
export const CONTAINER = 'run';

export const DEFAULT_GPU_RESOURCE = 'nvidia.com/gpu';

/** the node resource that counts the profile's GPUs: its gpu.resource (amd.com/gpu, gpu.intel.com/i915, …) or NVIDIA's */
export function gpuResource(h: HardwareProfile): string {
  return h.gpu?.resource ?? DEFAULT_GPU_RESOURCE;
}

export function resourcesOf(h: HardwareProfile): V1ResourceRequirements {
  const r: Record<string, string> = { cpu: String(h.cpu), memory: h.memory };
  if (h.gpu && h.gpu.count > 0) r[gpuResource(h)] = String(h.gpu.count);
  return { requests: { ...r }, limits: { ...r } };
}

function labels(spec: RunSpec, extra: Record<string, string>): Record<string, string> {
  return {
    [LABEL.managed]: MANAGED_VALUE,
    [LABEL.model]: labelValue(spec.model),
    [LABEL.version]: labelValue(spec.version),
    ...extra,
  };
}

function annotations(spec: RunSpec): Record<string, string> {
  return {
    [ANNOTATION.model]: spec.model,
    [ANNOTATION.version]: spec.version,
    [ANNOTATION.entrypoint]: spec.entrypoint,
    [ANNOTATION.hardware]: spec.hardware.name,
  };
}

function podSpec(spec: RunSpec, container: V1Container, extraVolumes: V1PodSpec['volumes'] = []): V1PodSpec {
  return {
    restartPolicy: 'Never',
    activeDeadlineSeconds: spec.maxDurationSeconds,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    nodeSelector: spec.hardware.nodeSelector && Object.keys(spec.hardware.nodeSelector).length ? { ...spec.hardware.nodeSelector } : undefined,
    tolerations: spec.hardware.tolerations?.map((t) => ({ ...t })),
    securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [container],
    volumes: [{ name: 'output', emptyDir: {} }, ...(extraVolumes ?? [])],
  };
}

/** where a run launched with fromRun finds the training run's artifacts (read-only) */
export const INPUT_DIR = '/var/run/trainyard-input';

/**
 * A run launched with fromRun: an init container (the same image, the same limits) fetches the
 * training run's artifacts with the run's token into an emptyDir, which the run mounts read-only.
 */
function addInputs(pod: V1PodSpec, spec: RunSpec, o: ManifestOptions): V1PodSpec {
  if (!spec.inputRunId || !o.backendUrl) return pod;
  const main = pod.containers[0];
  const env = [
    { name: 'TRAINYARD_INPUT_DIR', value: INPUT_DIR },
    { name: 'TRAINYARD_INPUT_RUN_ID', value: spec.inputRunId },
  ];
  const init: V1Container = {
    name: 'inputs',
    image: main.image,
    imagePullPolicy: main.imagePullPolicy,
    workingDir: main.workingDir,
    command: [
      'sh',
      '-c',
      `TRAINYARD_RUN_TOKEN="$(cat "${TOKEN_DIR}/token-${'$'}{JOB_COMPLETION_INDEX:-0}")" exec python3 -c 'import sys, trainyard; sys.exit(trainyard.fetch_inputs_main())'`,
    ],
    env: [{ name: 'TRAINYARD_BACKEND_URL', value: o.backendUrl }, ...env],
    resources: main.resources,
    terminationMessagePolicy: 'FallbackToLogsOnError',
    securityContext: main.securityContext,
    volumeMounts: [
      { name: 'input', mountPath: INPUT_DIR },
      { name: 'run-token', mountPath: TOKEN_DIR, readOnly: true },
    ],
  };
  main.env = [...(main.env ?? []), ...env];
  main.volumeMounts = [...(main.volumeMounts ?? []), { name: 'input', mountPath: INPUT_DIR, readOnly: true }];
  return { ...pod, initContainers: [init], volumes: [...(pod.volumes ?? []), { name: 'input', emptyDir: {} }] };
}

/** the env, volume and mount of the finish step, when the backend is reachable from pods */
function finishParts(o: ManifestOptions, secretNames: string[]): { env: NonNullable<V1Container['env']>; volumes: NonNullable<V1PodSpec['volumes']>; mounts: NonNullable<V1Container['volumeMounts']> } {
  if (!o.backendUrl) return { env: [], volumes: [], mounts: [] };
  return {
    env: [
      { name: 'TRAINYARD_BACKEND_URL', value: o.backendUrl },
      { name: 'TRAINYARD_FINISH', value: FINISH_STEP },
    ],
    // not optional: a pod that is scheduled before its Secret exists waits for the mount (the kubelet
    // retries), as it does for a sweep's params ConfigMap, instead of running without its token
    volumes: [{ name: 'run-token', projected: { defaultMode: 0o440, sources: secretNames.map((name) => ({ secret: { name } })) } }],
    mounts: [{ name: 'run-token', mountPath: TOKEN_DIR, readOnly: true }],
  };
}

/** the Secrets with the run tokens of a Job's runs (index i: key token-i), owned by the Job */
export function tokenSecrets(jobName: string, tokens: string[], o: ManifestOptions, labels: Record<string, string>): V1Secret[] {
  const out: V1Secret[] = [];
  for (let i = 0; i < tokens.length; i += TOKENS_PER_SECRET) {
    const data: Record<string, string> = {};
    tokens.slice(i, i + TOKENS_PER_SECRET).forEach((t, j) => (data[`token-${i + j}`] = t));
    out.push({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: tokenSecretName(jobName, i / TOKENS_PER_SECRET), namespace: o.namespace, labels }, stringData: data });
  }
  return out;
}

export function secretNamesFor(jobName: string, runs: number): string[] {
  return Array.from({ length: Math.max(1, Math.ceil(runs / TOKENS_PER_SECRET)) }, (_, i) => tokenSecretName(jobName, i));
}

function container(spec: RunSpec, env: V1Container['env'], command: string[], mounts: V1Container['volumeMounts'] = []): V1Container {
  return {
    name: CONTAINER,
    image: imageByDigest(spec.image.ref, spec.image.digest, spec.model),
    imagePullPolicy: 'IfNotPresent',
    workingDir: '/app',
    command,
    env: [...(env ?? []), { name: 'TRAINYARD_OUTPUT_DIR', value: OUTPUT_DIR }, { name: 'PYTHONUNBUFFERED', value: '1' }],
    resources: resourcesOf(spec.hardware),
    // a failed container's last log lines (its traceback) become its termination message, so the run's reason can show them
    terminationMessagePolicy: 'FallbackToLogsOnError',
    securityContext: { allowPrivilegeEscalation: false, privileged: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    volumeMounts: [{ name: 'output', mountPath: OUTPUT_DIR }, ...(mounts ?? [])],
  };
}

export function runJob(spec: RunSpec, o: ManifestOptions): V1Job {
  const name = jobNameForRun(spec.id);
  const l = labels(spec, { [LABEL.runId]: labelValue(spec.id) });
  const finish = finishParts(o, secretNamesFor(name, 1));
  const c = container(
    spec,
    [
      { name: 'TRAINYARD_RUN_ID', value: spec.id },
      { name: 'TRAINYARD_PARAMS', value: JSON.stringify(spec.params) },
      // the command goes through an env var, so no quoting of user text is needed
      { name: 'TRAINYARD_COMMAND', value: spec.command },
      ...finish.env,
    ],
    ['sh', '-c', RUN_COMMAND],
    finish.mounts,
  );
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: o.namespace, labels: l, annotations: { ...annotations(spec), [ANNOTATION.runIds]: JSON.stringify([spec.id]) } },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: spec.maxDurationSeconds,
      ttlSecondsAfterFinished: o.ttlSecondsAfterFinished,
      template: {
        metadata: { labels: l, annotations: { ...annotations(spec), ...(o.podAnnotations?.(spec) ?? {}) } },
        spec: addInputs(podSpec(spec, c, finish.volumes), spec, o),
      },
    },
  };
}

/** the params ConfigMap and the Indexed Job of one sweep; specs in sweep-index order */
export function sweepObjects(specs: RunSpec[], o: ManifestOptions): { configMap: V1ConfigMap; job: V1Job } {
  const first = specs[0];
  const sweepId = first.sweepId!;
  const name = jobNameForSweep(sweepId);
  const l = labels(first, { [LABEL.sweepId]: labelValue(sweepId) });
  const data: Record<string, string> = {};
  specs.forEach((s, i) => {
    data[`run-id-${i}`] = s.id;
    data[`params-${i}.json`] = JSON.stringify(s.params);
  });
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: configMapNameForSweep(sweepId), namespace: o.namespace, labels: l },
    data,
  };
  // the run's command goes through an env var, so no quoting of user text is needed
  const script =
    `i="$JOB_COMPLETION_INDEX"; TRAINYARD_INDEX="$i"; ` +
    `TRAINYARD_RUN_ID="$(cat ${PARAMS_DIR}/run-id-$i)"; TRAINYARD_PARAMS="$(cat ${PARAMS_DIR}/params-$i.json)"; ` +
    `export TRAINYARD_RUN_ID TRAINYARD_PARAMS; ${RUN_COMMAND}`;
  const finish = finishParts(o, secretNamesFor(name, specs.length));
  const c = container(first, [{ name: 'TRAINYARD_COMMAND', value: first.command }, ...finish.env], ['sh', '-c', script], [
    { name: 'params', mountPath: PARAMS_DIR, readOnly: true },
    ...finish.mounts,
  ]);
  const parallelism = Math.max(1, Math.min(specs.length, first.parallelism ?? specs.length));
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: o.namespace, labels: l, annotations: { ...annotations(first), [ANNOTATION.runIds]: JSON.stringify(specs.map((s) => s.id)) } },
    spec: {
      completionMode: 'Indexed',
      completions: specs.length,
      parallelism,
      backoffLimitPerIndex: 0,
      ttlSecondsAfterFinished: o.ttlSecondsAfterFinished,
      template: {
        metadata: { labels: l, annotations: { ...annotations(first), ...(o.podAnnotations?.(first) ?? {}) } },
        spec: addInputs(podSpec(first, c, [{ name: 'params', configMap: { name: configMap.metadata!.name! } }, ...finish.volumes]), first, o),
      },
    },
  };
  return { configMap, job };
}

/** CronJob defaults: one fire at a time, a short history, a fire missed by more than this is skipped */
export const CRONJOB_DEFAULTS = { concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3, startingDeadlineSeconds: 300 } as const;

/**
 * A schedule as a CronJob whose jobTemplate is the Job (one run) or Indexed Job (sweep) a launch
 * would create, minus the run ids: those are not known until the CronJob controller creates a Job,
 * so each pod derives its TRAINYARD_RUN_ID from its Job's uid (the controller-uid label, through
 * the downward API) exactly as the backend does when it records the runs (names.ts
 * scheduledRunIds). The fire's RunSpecs travel in an annotation of the template, so any backend
 * can record a Job's runs from the Job alone. A sweep's params ConfigMap is shared by all fires
 * (the caller owns it to the CronJob).
 */
export function scheduleObjects(s: ScheduleSpec, o: ManifestOptions): { cronJob: V1CronJob; configMap: V1ConfigMap | null } {
  const sweep = s.runs.length > 1 || s.runs[0].sweepId !== null;
  const template = s.runs.map((r) => ({ ...r, id: '', sweepId: null }));
  const placeholder = s.runs.map((r, i) => ({ ...r, id: `run_schedule${String(i).padStart(8, '0')}`, sweepId: sweep ? 'swp_schedule0000' : null }));
  const uidEnv = { name: 'TRAINYARD_JOB_UID', valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']" } } };
  const derive = (suffix: string) => `IFS=-; set -- $TRAINYARD_JOB_UID; IFS=' '; TRAINYARD_RUN_ID="run_$1$2$3$4$5${suffix}"; `;
  let job: V1Job;
  let configMap: V1ConfigMap | null = null;
  if (!sweep) {
    job = runJob(placeholder[0], o);
    const c = job.spec!.template.spec!.containers[0];
    c.env = [uidEnv, ...(c.env ?? []).filter((e) => e.name !== 'TRAINYARD_RUN_ID')];
    c.command = ['sh', '-c', `${derive('')}export TRAINYARD_RUN_ID; ${RUN_COMMAND}`];
  } else {
    const objs = sweepObjects(placeholder, o);
    job = objs.job;
    configMap = objs.configMap;
    configMap.metadata!.name = configMapNameForSchedule(s.id);
    configMap.data = Object.fromEntries(Object.entries(configMap.data ?? {}).filter(([k]) => !k.startsWith('run-id-')));
    const pod = job.spec!.template.spec!;
    for (const v of pod.volumes ?? []) if (v.configMap) v.configMap.name = configMap.metadata!.name!;
    const c = pod.containers[0];
    c.env = [uidEnv, ...(c.env ?? [])];
    c.command = [
      'sh',
      '-c',
      `i="$JOB_COMPLETION_INDEX"; ${derive('$i')}TRAINYARD_PARAMS="$(cat ${PARAMS_DIR}/params-$i.json)"; ` + `export TRAINYARD_RUN_ID TRAINYARD_PARAMS; ${RUN_COMMAND}`,
    ];
  }
  // a fire's run ids are only known once its Job exists, so it has no run tokens: no finish step
  const pod = job.spec!.template.spec!;
  pod.volumes = pod.volumes?.filter((v) => v.name !== 'run-token');
  for (const c of pod.containers) {
    c.volumeMounts = c.volumeMounts?.filter((m) => m.name !== 'run-token');
    c.env = c.env?.filter((e) => e.name !== 'TRAINYARD_FINISH' && e.name !== 'TRAINYARD_BACKEND_URL');
  }
  const l: Record<string, string> = { ...job.metadata!.labels, [LABEL.scheduleId]: labelValue(s.id) };
  delete l[LABEL.runId];
  delete l[LABEL.sweepId];
  const a: Record<string, string> = { ...job.metadata!.annotations, [ANNOTATION.scheduleRuns]: JSON.stringify(template), [ANNOTATION.scheduleId]: s.id };
  delete a[ANNOTATION.runIds];
  job.spec!.template.metadata!.labels = { ...l };
  if (configMap) configMap.metadata!.labels = { ...l };
  const cronJob: V1CronJob = {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: cronJobName(s.id), namespace: o.namespace, labels: { ...l }, annotations: { [ANNOTATION.scheduleId]: s.id } },
    spec: {
      schedule: cronJobSchedule(s.cron),
      timeZone: s.timezone,
      ...CRONJOB_DEFAULTS,
      jobTemplate: { metadata: { labels: l, annotations: a }, spec: job.spec! },
    },
  };
  return { cronJob, configMap };
}
