/**
 * The cron expressions a Kubernetes CronJob accepts: five fields (minute hour day-of-month month
 * day-of-week) or a descriptor such as @daily, parsed by the controller's standard cron parser.
 * Trainyard's own loop (croner) also takes a leading seconds field and L, W and # in the day
 * fields; those are refused here with the reason, at schedule creation. A seconds field of 0 is
 * translated (dropped), since a 5-field expression fires at second 0 anyway: the same instants.
 */
import { invalid } from '../../errors';

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const HINT = 'use 5 fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * 1" for Mondays at 03:00';

/** the expression as the CronJob gets it (a 6-field one with seconds 0 loses that field), or a 400 saying why not */
export function cronJobSchedule(expr: string): string {
  const text = expr.trim();
  if (text.startsWith('@')) {
    if (DESCRIPTORS.has(text.toLowerCase())) return text.toLowerCase();
    throw invalid(`Kubernetes CronJobs do not accept "${text}": the descriptors they take are ${[...DESCRIPTORS].join(', ')}; or ${HINT}`);
  }
  let fields = text.split(/\s+/);
  if (fields.length === 6) {
    if (!/^0+$/.test(fields[0])) {
      throw invalid(`Kubernetes CronJobs accept only 5-field cron expressions, without seconds: "${text}" fires at seconds "${fields[0]}", which a CronJob cannot do; ${HINT}`);
    }
    fields = fields.slice(1); // seconds 0: the same instants as the 5 remaining fields
  }
  if (fields.length !== 5) throw invalid(`Kubernetes CronJobs accept only 5-field cron expressions: "${text}" has ${fields.length} fields; ${HINT}`);
  const odd = fields.slice(2).join(' ').match(/[LW#]/i);
  if (odd) throw invalid(`Kubernetes CronJobs do not accept "${odd[0]}" in a cron expression ("${text}"): their parser has no last-day, weekday or nth-weekday forms; ${HINT}`);
  return fields.join(' ');
}
