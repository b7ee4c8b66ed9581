/** The data home (~/.trainyard, or TRAINYARD_HOME). Its own module so the CLI's client verbs need not load the config parser. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function dataHome(): string {
  return resolve(process.env.TRAINYARD_HOME || join(homedir(), '.trainyard'));
}
