/**
 * Why a Job has no pod yet, from the Job controller's events: a quota or an admission webhook
 * refusing the pod changes no Job or Pod, it only shows as a FailedCreate event. Read at most
 * once every 2 s per Job, since pending runs are re-derived often.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { toKubeError } from './client';

const THROTTLE_MS = 2000;

export class JobEvents {
  private readonly checked = new Map<string, number>();
  constructor(private readonly core: CoreV1Api, private readonly namespace: string, private readonly log: (msg: string) => void) {}

  /** the newest FailedCreate of the Job, in the user's words; null when there is none or it was read just now */
  async reason(job: string): Promise<string | null> {
    const last = this.checked.get(job) ?? 0;
    if (Date.now() - last < THROTTLE_MS) return null;
    this.checked.set(job, Date.now());
    if (this.checked.size > 10_000) this.checked.delete(this.checked.keys().next().value!);
    try {
      const ev = await this.core.listNamespacedEvent({ namespace: this.namespace, fieldSelector: `involvedObject.kind=Job,involvedObject.name=${job}` });
      const failed = ev.items.filter((e) => e.reason === 'FailedCreate').sort((a, b) => +new Date(b.lastTimestamp ?? b.eventTime ?? 0) - +new Date(a.lastTimestamp ?? a.eventTime ?? 0))[0];
      if (!failed) return null;
      const msg = failed.message ?? '';
      if (/exceeded quota/.test(msg)) return `waiting for quota: ${msg}`;
      return `cannot create its pod: ${msg}`;
    } catch (err) {
      this.log(`reading events of Job ${job}: ${toKubeError(err).message}`);
      return null;
    }
  }
}
