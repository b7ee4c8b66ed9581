/** A model name checked with the shared ModelName schema's pattern (schemas/common.ts), with a message that says the rule. */
import { ModelName } from '@trainyard/shared/schemas/common';

const MODEL_NAME = new RegExp((ModelName as unknown as { pattern: string }).pattern);

export function checkModelName(s: string): string | null {
  return MODEL_NAME.test(s) ? null : 'A model name is 2-63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash, e.g. eta-correction';
}
