/**
 * Names and labels Kubernetes accepts. Everything user-chosen (model names, version labels
 * such as `3f2a+dirty.9c1b`, run and sweep ids) passes through here before it reaches an
 * object, so the API server never answers 422 for a name: a value that is not already valid
 * is lowered, its invalid characters replaced, trimmed to the limit and suffixed with a
 * short hash of the original (so two different originals never collide). The originals
 * travel in annotations, which take any string.
 */
import { createHash } from 'node:crypto';

export const LABEL = {
  managed: 'trainyard.dev/managed-by',
  runId: 'trainyard.dev/run-id',
  sweepId: 'trainyard.dev/sweep-id',
  scheduleId: 'trainyard.dev/schedule-id',
  model: 'trainyard.dev/model',
  version: 'trainyard.dev/version',
} as const;
export const MANAGED_VALUE = 'trainyard';
export const SELECTOR = `${LABEL.managed}=${MANAGED_VALUE}`;
export const ANNOTATION = {
  model: 'trainyard.dev/model',
  version: 'trainyard.dev/version',
  runIds: 'trainyard.dev/run-ids',
  entrypoint: 'trainyard.dev/entrypoint',
  hardware: 'trainyard.dev/hardware',
  /** on a CronJob's jobTemplate: the RunSpecs of one fire (ids are derived per Job, see scheduledRunIds) */
  scheduleRuns: 'trainyard.dev/schedule-runs',
  scheduleId: 'trainyard.dev/schedule-id',
} as const;
/** the label the Job controller sets on the pods of an Indexed Job */
export const INDEX_LABEL = 'batch.kubernetes.io/job-completion-index';

const hash = (s: string, n = 8) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** an RFC 1123 DNS label (lowercase alphanumerics and '-', starts and ends alphanumeric) of at most `max` chars */
export function dnsLabel(raw: string, max = 63): string {
  const valid = new RegExp(`^[a-z0-9]([-a-z0-9]{0,${max - 2}}[a-z0-9])?$`);
  if (valid.test(raw)) return raw;
  let s = raw.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  const suffix = hash(raw);
  s = s.slice(0, max - suffix.length - 1).replace(/-+$/g, '');
  return s ? `${s}-${suffix}` : `x-${suffix}`;
}

/** a label value: at most 63 of [A-Za-z0-9._-], starting and ending alphanumeric (or empty) */
export function labelValue(raw: string): string {
  if (/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/.test(raw)) return raw;
  let s = raw.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  const suffix = hash(raw);
  s = s.slice(0, 63 - suffix.length - 1).replace(/[^A-Za-z0-9]+$/g, '');
  return s ? `${s}_${suffix}` : suffix;
}

/**
 * Job names stay within 52 characters: the Job controller derives pod names and, for Indexed
 * Jobs, hostnames `<job>-<index>` from them, and those must stay within 63.
 */
export function jobNameForRun(runId: string): string {
  return dnsLabel(`ty-${runId}`, 52);
}
export function jobNameForSweep(sweepId: string): string {
  return dnsLabel(`ty-${sweepId}`, 52);
}
export function configMapNameForSweep(sweepId: string): string {
  return `${jobNameForSweep(sweepId)}-params`;
}
/** the Secret(s) holding a Job's run tokens: one per chunk of a sweep's indexes */
export function tokenSecretName(jobName: string, chunk = 0): string {
  return `${jobName}-token-${chunk}`;
}

/**
 * The image by digest: `<repository>@sha256:…`. A version's imageRef is either a registry
 * reference (`host/ns/repo:tag`) or an `oci-layout:` one no node can pull from; the latter
 * is named `trainyard.local/<model>` so the reference is at least well-formed.
 */
export function imageByDigest(ref: string, digest: string, model: string): string {
  let repo: string;
  if (ref.startsWith('oci-layout:') || !/^[a-z0-9]/.test(ref)) repo = `trainyard.local/${dnsLabel(model)}`;
  else {
    const noDigest = ref.split('@')[0];
    const slash = noDigest.lastIndexOf('/');
    const colon = noDigest.lastIndexOf(':');
    repo = colon > slash ? noDigest.slice(0, colon) : noDigest;
  }
  return `${repo}@${digest}`;
}

/** a schedule's CronJob (52 characters at most, like Job names: the controller appends `-<minutes>`) */
export function cronJobName(scheduleId: string): string {
  return dnsLabel(`ty-${scheduleId}`, 52);
}
/** the Secret with a schedule's run token (key `token`), which every fire's pods mount */
export function tokenSecretNameForSchedule(scheduleId: string): string {
  return `${cronJobName(scheduleId)}-token`;
}
export function configMapNameForSchedule(scheduleId: string): string {
  return `${cronJobName(scheduleId)}-params`;
}

/**
 * The run ids of a Job a CronJob created, derived from the Job's uid so that every backend (and
 * the pod itself, from its controller-uid label) arrives at the same ids: `run_<uid hex>` for a
 * single run, `run_<uid hex><index>` for a sweep's points, sweep `swp_<uid hex>`.
 */
export function scheduledRunIds(jobUid: string, count: number, sweep: boolean): { runIds: string[]; sweepId: string | null } {
  const hex = jobUid.replace(/-/g, '').toLowerCase();
  if (!sweep) return { runIds: [`run_${hex}`], sweepId: null };
  return { runIds: Array.from({ length: count }, (_, i) => `run_${hex}${i}`), sweepId: `swp_${hex}` };
}

/** whether `id` has the shape scheduledRunIds gives (a fire's run a backend may not have recorded yet) */
export function isScheduledRunId(id: string): boolean {
  return /^run_[0-9a-f]{32}\d*$/.test(id);
}
