/**
 * Schedules as CronJobs: creating one (with a sweep's params ConfigMap, owned by it), updating
 * one whose fire changed (a schedule on the latest version, after a new version), deleting
 * one in the foreground (its Jobs and ConfigMap go with it), making the cluster's CronJobs match
 * the store's schedules, and reading the runs of a Job a CronJob fired (scheduledSpecs: the
 * template's RunSpec with ids derived from the Job's uid, as names.ts scheduledRunIds does, and a
 * sweep's params from its ConfigMaps).
 * The executor records and follows those runs (kubernetes-executor.ts adoptJob).
 */
import type { V1ConfigMap, V1CronJob, V1Job, V1OwnerReference } from '@kubernetes/client-node';
import type { RunSpec, ScheduleSpec } from '../executor';
import { createOrAdopt, KubeError, toKubeError, type KubeClients } from './client';
import { scheduleObjects, scheduleTokenSecret, type ManifestOptions, type ScheduleTemplate } from './manifests';
import { paramsFromConfigMaps } from './sweep-params';
import { ANNOTATION, cronJobName, scheduledRunIds, SELECTOR, tokenSecretNameForSchedule } from './names';

/** the template of a Job a schedule's CronJob created (manifests.ts ScheduleTemplate), or null */
function templateOf(job: V1Job): ScheduleTemplate | null {
  const raw = job.metadata?.annotations?.[ANNOTATION.scheduleRuns];
  if (!raw) return null;
  try {
    const t = JSON.parse(raw) as ScheduleTemplate;
    const ok = t && typeof t === 'object' && t.base && typeof t.base === 'object' && Number.isInteger(t.count) && t.count >= 1;
    return ok && (t.configMaps === null || (Array.isArray(t.configMaps) && t.configMaps.every((n) => typeof n === 'string'))) ? t : null;
  } catch {
    return null;
  }
}

/** the run ids of a Job a schedule's CronJob created (derived from its uid), or null when it carries no valid template */
export function scheduledRunIdsOf(job: V1Job): string[] | null {
  const t = templateOf(job);
  const uid = job.metadata?.uid;
  if (!t || !uid) return null;
  return scheduledRunIds(uid, t.count, job.spec?.completionMode === 'Indexed').runIds;
}

/**
 * the runs of a Job a schedule's CronJob created, with a sweep's params read from its ConfigMaps
 * (`read`), or null when the template or the params cannot be read
 */
export async function scheduledSpecs(job: V1Job, read: (name: string) => Promise<V1ConfigMap>): Promise<RunSpec[] | null> {
  const t = templateOf(job);
  const uid = job.metadata?.uid;
  if (!t || !uid) return null;
  const sweep = job.spec?.completionMode === 'Indexed';
  const { runIds, sweepId } = scheduledRunIds(uid, t.count, sweep);
  let params = [t.base.params];
  if (t.configMaps) {
    const maps: V1ConfigMap[] = [];
    for (const name of t.configMaps) maps.push(await read(name));
    const got = paramsFromConfigMaps(maps, t.count);
    if (!got) return null;
    params = got;
  }
  if (params.length !== runIds.length) return null;
  return runIds.map((id, i) => ({ ...t.base, id, sweepId, sweepIndex: sweep ? i : null, params: params[i] }));
}

export interface CronJobsOptions {
  kube: KubeClients;
  namespace: string;
  manifests: ManifestOptions;
  /** runs an API call with the executor's retries */
  api: <T>(fn: () => Promise<T>) => Promise<T>;
  log: (msg: string) => void;
  /**
   * a run token for every fire of the schedule (with manifests.backendUrl: the fires push their
   * outputs); discard revokes it when it was not needed after all
   */
  scheduleToken?: (scheduleId: string) => Promise<{ token: string; discard: () => Promise<void> }>;
}

export class CronJobs {
  constructor(private readonly o: CronJobsOptions) {}

  /**
   * creates the schedule's CronJob (and a sweep's params ConfigMap, owned by it); an existing one
   * whose fire differs (its template's RunSpecs: a new version) gets the new schedule and template
   */
  async create(s: ScheduleSpec): Promise<void> {
    const { kube, namespace, api } = this.o;
    const { cronJob, configMaps } = scheduleObjects(s, this.o.manifests);
    const name = cronJob.metadata!.name!;
    let created = await createOrAdopt(
      api,
      () => kube.batch.createNamespacedCronJob({ namespace, body: cronJob }),
      () => kube.batch.readNamespacedCronJob({ name, namespace }),
    );
    if (!sameFire(created, cronJob)) created = await this.update(created, cronJob);
    const ownerReferences = [{ apiVersion: 'batch/v1', kind: 'CronJob', name, uid: created.metadata!.uid!, blockOwnerDeletion: false }];
    for (const configMap of configMaps) {
      configMap.metadata!.ownerReferences = ownerReferences;
      await createOrAdopt(api, () => kube.core.createNamespacedConfigMap({ namespace, body: configMap }), async () => configMap);
    }
    if (this.o.manifests.backendUrl && this.o.scheduleToken) await this.ensureToken(s.id, ownerReferences, { ...cronJob.metadata!.labels });
  }

  /**
   * the Secret with the schedule's run token, made once. The backend may create Secrets but not read
   * them (deploy/role.yaml), so an existing one (a restart, a re-render) is found by the create's
   * 409, and the token issued for it is revoked: no stray valid token is left.
   */
  private async ensureToken(scheduleId: string, ownerReferences: V1OwnerReference[], labels: Record<string, string>): Promise<void> {
    const { kube, namespace, api } = this.o;
    const { token, discard } = await this.o.scheduleToken!(scheduleId);
    const secret = scheduleTokenSecret(scheduleId, token, this.o.manifests, labels);
    secret.metadata!.ownerReferences = ownerReferences;
    try {
      await api(() => kube.core.createNamespacedSecret({ namespace, body: secret }));
    } catch (err) {
      await discard();
      if (!(err instanceof KubeError && err.status === 409)) throw err;
    }
  }

  /** the CronJob `have` takes `want`'s schedule and template (read again and retried once on a conflict) */
  private async update(have: V1CronJob, want: V1CronJob): Promise<V1CronJob> {
    const { kube, namespace, api } = this.o;
    const name = want.metadata!.name!;
    for (let attempt = 0; ; attempt++) {
      const body: V1CronJob = { ...have, spec: { ...have.spec!, schedule: want.spec!.schedule, timeZone: want.spec!.timeZone, jobTemplate: want.spec!.jobTemplate } };
      try {
        return await api(() => kube.batch.replaceNamespacedCronJob({ name, namespace, body }));
      } catch (err) {
        if (attempt > 0 || !(err instanceof KubeError && err.status === 409)) throw err;
        have = await api(() => kube.batch.readNamespacedCronJob({ name, namespace }));
      }
    }
  }

  /** deletes the schedule's CronJob in the foreground (its Jobs and ConfigMap go with it) */
  delete(scheduleId: string): Promise<void> {
    return this.deleteByName(cronJobName(scheduleId));
  }

  /** creates the CronJobs of schedules that have none, updates those whose fire changed, deletes the CronJobs of schedules that are gone */
  async reconcile(all: ScheduleSpec[]): Promise<void> {
    const want = new Map(all.map((s) => [cronJobName(s.id), s]));
    const have = await this.o.api(() => this.o.kube.batch.listNamespacedCronJob({ namespace: this.o.namespace, labelSelector: SELECTOR }));
    const existing = new Set<string>();
    for (const cj of have.items as V1CronJob[]) {
      const name = cj.metadata!.name!;
      const wanted = want.get(name);
      if (!wanted) {
        if (!cj.metadata?.deletionTimestamp) {
          this.o.log(`deleting CronJob ${name}: its schedule is gone`);
          await this.deleteByName(name);
        }
        continue;
      }
      if (sameFire(cj, scheduleObjects(wanted, this.o.manifests).cronJob)) existing.add(name); // else create() updates it below
    }
    for (const [name, s] of want) {
      if (existing.has(name)) continue;
      try {
        await this.create(s);
      } catch (err) {
        this.o.log(`creating the CronJob of schedule ${s.id}: ${toKubeError(err).message}`);
      }
    }
  }

  private async deleteByName(name: string): Promise<void> {
    try {
      await this.o.api(() => this.o.kube.batch.deleteNamespacedCronJob({ name, namespace: this.o.namespace, propagationPolicy: 'Foreground' }));
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 404)) throw err;
    }
  }
}

/** the same schedule and the same fire (the template's RunSpecs: version, image, params, hardware) */
function sameFire(have: V1CronJob, want: V1CronJob): boolean {
  const runs = (cj: V1CronJob) => cj.spec?.jobTemplate?.metadata?.annotations?.[ANNOTATION.scheduleRuns];
  return have.spec?.schedule === want.spec?.schedule && have.spec?.timeZone === want.spec?.timeZone && runs(have) === runs(want);
}
