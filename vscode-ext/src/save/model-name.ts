/** A model name checked with the shared ModelName schema's pattern (schemas/common.ts), with a message that says the rule. */
/** the shared ModelName schema's pattern (kept here so activation does not load the schema library; a test checks they agree) */
export const MODEL_NAME = /^[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

export function checkModelName(s: string): string | null {
  return MODEL_NAME.test(s) ? null : 'A model name is 2-63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash, e.g. eta-correction';
}
