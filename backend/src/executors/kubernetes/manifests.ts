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
import { paramConfigMaps, paramsVolume } from './sweep-params';
import { ANNOTATION, configMapNameForSchedule, configMapNameForSweep, cronJobName, imageByDigest, jobNameForRun, jobNameForSweep, LABEL, labelValue, MANAGED_VALUE, tokenSecretName, tokenSecretNameForSchedule } from './names';

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

/**
 * where a pod finds its run token: TOKEN_DIR/token-<completion index> (a single run: index 0), or
 * TOKEN_DIR/token for a schedule's fire (one token for all its runs: run-tokens.ts issueScheduleToken)
 */
export const TOKEN_DIR = '/var/run/trainyard-token';
/** run tokens per Secret: a Secret holds at most 1 MiB, and a token with its key is about 60 bytes */
export const TOKENS_PER_SECRET = 4000;

/** shell: sets $f to this pod's token file, token-<$indexVar> or else a schedule's `token` (TOKEN_DIR above) */
const pickTokenFile = (indexVar: string) => `f="${TOKEN_DIR}/token-${'$'}{${indexVar}:-0}"; [ -r "$f" ] || f="${TOKEN_DIR}/token"; `;

/**
 * The finish step (run after the command, whatever its exit code, and after a cancel's SIGTERM
 * within the grace period): the in-image trainyard module pushes TRAINYARD_OUTPUT_DIR to the
 * backend with the run's token. Skipped when the pod has no token. Its own failure is logged and
 * never changes the run's exit code.
 */
export const FINISH_STEP =
  `${pickTokenFile('TRAINYARD_INDEX')}if [ -r "$f" ]; then TRAINYARD_RUN_TOKEN="$(cat "$f")" ` +
  `python3 -c 'import sys, trainyard; sys.exit(trainyard.push_outputs_main())' || true; fi`;
/**
 * How each line the finish step writes begins (python/trainyard FINISH_LOG_PREFIX, the same
 * string). The step runs in the run's container after the command, so its lines end the
 * container's log, and with FallbackToLogsOnError the log's tail is the failed container's
 * termination message: status.ts drops these lines from the run's reason, which is the end of the
 * command's own output (a traceback). They stay in the run's log.
 */
export const FINISH_LOG_PREFIX = 'trainyard finish: ';
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
 * A schedule's fire (`fire`) learns which training run from its own run's record, where the backend
 * put the one it resolved when it recorded the fire; the init container derives its run id as the
 * main container does.
 */
function addInputs(pod: V1PodSpec, spec: RunSpec, o: ManifestOptions, fire?: { env: NonNullable<V1Container['env']>; derive: string }): V1PodSpec {
  if ((!spec.inputRunId && !fire) || !o.backendUrl) return pod;
  const main = pod.containers[0];
  const env = [{ name: 'TRAINYARD_INPUT_DIR', value: INPUT_DIR }, ...(fire ? [] : [{ name: 'TRAINYARD_INPUT_RUN_ID', value: spec.inputRunId! }])];
  const init: V1Container = {
    name: 'inputs',
    image: main.image,
    imagePullPolicy: main.imagePullPolicy,
    workingDir: main.workingDir,
    command: [
      'sh',
      '-c',
      `${fire ? `i="${'$'}{JOB_COMPLETION_INDEX:-}"; ${fire.derive}export TRAINYARD_RUN_ID; ` : ''}` +
        pickTokenFile('JOB_COMPLETION_INDEX') +
        `TRAINYARD_RUN_TOKEN="$(cat "$f")" exec python3 -c 'import sys, trainyard; sys.exit(trainyard.fetch_inputs_main())'`,
    ],
    env: [{ name: 'TRAINYARD_BACKEND_URL', value: o.backendUrl }, ...(fire?.env ?? []), ...env],
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

/**
 * The Secrets with the run tokens of a Job's runs (completion index i: key token-i, in Secret
 * i / TOKENS_PER_SECRET), owned by the Job; every Secret the pods mount exists, even one whose
 * indexes were not submitted.
 */
export function tokenSecrets(jobName: string, tokens: Array<[index: number, token: string]>, o: ManifestOptions, labels: Record<string, string>): V1Secret[] {
  const count = Math.max(1, ...tokens.map(([i]) => i + 1));
  const data: Array<Record<string, string>> = secretNamesFor(jobName, count).map(() => ({}));
  for (const [i, t] of tokens) data[Math.floor(i / TOKENS_PER_SECRET)][`token-${i}`] = t;
  return data.map((d, k) => ({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: tokenSecretName(jobName, k), namespace: o.namespace, labels }, stringData: d }));
}

/** the Secret with a schedule's token (key `token`), owned by its CronJob */
export function scheduleTokenSecret(scheduleId: string, token: string, o: ManifestOptions, labels: Record<string, string>): V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: tokenSecretNameForSchedule(scheduleId), namespace: o.namespace, labels }, stringData: { token } };
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

/** each spec's completion index: its sweep index, else its place among `specs` */
export function completionIndexes(specs: RunSpec[]): number[] {
  return specs.map((s, i) => s.sweepIndex ?? i);
}

/**
 * The params ConfigMaps (sweep-params.ts: as many as 1 MiB each allows) and the Indexed Job of
 * one sweep. Each run is completion index = its sweep index, so the store alone maps a pod to its
 * run after a restart, and the Job carries no list of run ids (an annotation holds 256 KiB at most).
 * When only some points are submitted (a restart resubmitting the Pending part of a sweep whose Job
 * was never made), the other indexes have no files and their pods exit at once.
 */
export function sweepObjects(specs: RunSpec[], o: ManifestOptions): { configMaps: V1ConfigMap[]; job: V1Job } {
  const first = specs[0];
  const sweepId = first.sweepId!;
  const name = jobNameForSweep(sweepId);
  const l = labels(first, { [LABEL.sweepId]: labelValue(sweepId) });
  const indexes = completionIndexes(specs);
  const completions = Math.max(...indexes) + 1;
  const data: Array<[string, string]> = [];
  specs.forEach((s, k) => {
    data.push([`run-id-${indexes[k]}`, s.id], [`params-${indexes[k]}.json`, JSON.stringify(s.params)]);
  });
  const configMaps = paramConfigMaps(configMapNameForSweep(sweepId), data, { namespace: o.namespace, labels: l });
  // the run's command goes through an env var, so no quoting of user text is needed
  const script =
    `i="$JOB_COMPLETION_INDEX"; TRAINYARD_INDEX="$i"; [ -r ${PARAMS_DIR}/run-id-$i ] || exit 0; ` +
    `TRAINYARD_RUN_ID="$(cat ${PARAMS_DIR}/run-id-$i)"; TRAINYARD_PARAMS="$(cat ${PARAMS_DIR}/params-$i.json)"; ` +
    `export TRAINYARD_RUN_ID TRAINYARD_PARAMS; ${RUN_COMMAND}`;
  const finish = finishParts(o, secretNamesFor(name, completions));
  const c = container(first, [{ name: 'TRAINYARD_COMMAND', value: first.command }, ...finish.env], ['sh', '-c', script], [
    { name: 'params', mountPath: PARAMS_DIR, readOnly: true },
    ...finish.mounts,
  ]);
  const parallelism = Math.max(1, Math.min(completions, first.parallelism ?? completions));
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: o.namespace, labels: l, annotations: annotations(first) },
    spec: {
      completionMode: 'Indexed',
      completions,
      parallelism,
      backoffLimitPerIndex: 0,
      ttlSecondsAfterFinished: o.ttlSecondsAfterFinished,
      template: {
        metadata: { labels: l, annotations: { ...annotations(first), ...(o.podAnnotations?.(first) ?? {}) } },
        spec: addInputs(podSpec(first, c, [paramsVolume(configMaps.map((m) => m.metadata!.name!)), ...finish.volumes]), first, o),
      },
    },
  };
  return { configMaps, job };
}

/** CronJob defaults: one fire at a time, a short history, a fire missed by more than this is skipped */
export const CRONJOB_DEFAULTS = { concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3, startingDeadlineSeconds: 300 } as const;

/**
 * A schedule as a CronJob whose jobTemplate is the Job (one run) or Indexed Job (sweep) a launch
 * would create, minus the run ids: those are not known until the CronJob controller creates a Job,
 * so each pod derives its TRAINYARD_RUN_ID from its Job's uid (the controller-uid label, through
 * the downward API) exactly as the backend does when it records the runs (names.ts
 * scheduledRunIds). What a fire runs travels in an annotation of the template (ScheduleTemplate:
 * one RunSpec and the number of points; a sweep's params stay in its ConfigMaps, which an
 * annotation of 256 KiB could not hold for thousands of points), so any backend can record a Job's
 * runs from the cluster alone. A sweep's params ConfigMaps are shared by all fires (the caller owns
 * them to the CronJob).
 */
export function scheduleObjects(s: ScheduleSpec, o: ManifestOptions): { cronJob: V1CronJob; configMaps: V1ConfigMap[] } {
  const sweep = s.runs.length > 1 || s.runs[0].sweepId !== null;
  const placeholder = s.runs.map((r, i) => ({ ...r, id: `run_schedule${String(i).padStart(8, '0')}`, sweepId: sweep ? 'swp_schedule0000' : null }));
  const uidEnv = { name: 'TRAINYARD_JOB_UID', valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']" } } };
  const derive = (suffix: string) => `IFS=-; set -- $TRAINYARD_JOB_UID; IFS=' '; TRAINYARD_RUN_ID="run_$1$2$3$4$5${suffix}"; `;
  let job: V1Job;
  let configMaps: V1ConfigMap[] = [];
  if (!sweep) {
    job = runJob(placeholder[0], o);
    const c = job.spec!.template.spec!.containers[0];
    c.env = [uidEnv, ...(c.env ?? []).filter((e) => e.name !== 'TRAINYARD_RUN_ID')];
    c.command = ['sh', '-c', `${derive('')}export TRAINYARD_RUN_ID; ${RUN_COMMAND}`];
  } else {
    job = sweepObjects(placeholder, o).job;
    const data = s.runs.map((r, i): [string, string] => [`params-${i}.json`, JSON.stringify(r.params)]);
    configMaps = paramConfigMaps(configMapNameForSchedule(s.id), data, { namespace: o.namespace, labels: {} });
    const pod = job.spec!.template.spec!;
    pod.volumes = pod.volumes!.map((v) => (v.name === 'params' ? paramsVolume(configMaps.map((m) => m.metadata!.name!)) : v));
    const c = pod.containers[0];
    c.env = [uidEnv, ...(c.env ?? [])];
    c.command = [
      'sh',
      '-c',
      `i="$JOB_COMPLETION_INDEX"; ${derive('$i')}TRAINYARD_PARAMS="$(cat ${PARAMS_DIR}/params-$i.json)"; ` + `export TRAINYARD_RUN_ID TRAINYARD_PARAMS; ${RUN_COMMAND}`,
    ];
  }
  if (s.fromRun) {
    const spec = job.spec!.template.spec!;
    job.spec!.template.spec = addInputs(spec, placeholder[0], o, { env: [uidEnv], derive: derive(sweep ? '$i' : '') });
  }
  // a fire's run ids are only known once its Job exists: its pods push with the schedule's token
  const pod = job.spec!.template.spec!;
  for (const v of pod.volumes ?? []) if (v.name === 'run-token') v.projected!.sources = [{ secret: { name: tokenSecretNameForSchedule(s.id) } }];
  const l: Record<string, string> = { ...job.metadata!.labels, [LABEL.scheduleId]: labelValue(s.id) };
  delete l[LABEL.runId];
  delete l[LABEL.sweepId];
  const template: ScheduleTemplate = {
    base: { ...s.runs[0], id: '', sweepId: null, sweepIndex: null, params: sweep ? {} : s.runs[0].params },
    count: s.runs.length,
    configMaps: sweep ? configMaps.map((m) => m.metadata!.name!) : null,
  };
  const a: Record<string, string> = { ...job.metadata!.annotations, [ANNOTATION.scheduleRuns]: JSON.stringify(template), [ANNOTATION.scheduleId]: s.id };
  delete a[ANNOTATION.runIds];
  job.spec!.template.metadata!.labels = { ...l };
  for (const m of configMaps) m.metadata!.labels = { ...l };
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
  return { cronJob, configMaps };
}

/**
 * What one fire of a schedule runs, in its CronJob's template: the first point's RunSpec (a sweep's
 * without params), how many points, and the ConfigMaps with a sweep's params-<i>.json.
 */
export interface ScheduleTemplate {
  base: RunSpec;
  count: number;
  configMaps: string[] | null;
}
