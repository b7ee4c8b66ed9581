/**
 * The name patterns of the API (schemas/common.ts builds its schemas from them), in a module
 * without TypeBox, so the CLI can check arguments with the same rules without loading it.
 */
export const MODEL_NAME_PATTERN = '^[a-z][a-z0-9-]{0,61}[a-z0-9]$';
/** the OCI ref-name grammar: alphanumeric runs joined by single separators */
export const VERSION_LABEL_PATTERN = '^(?=.{1,128}$)[A-Za-z0-9]+(?:(?:[._+-]|--)[A-Za-z0-9]+)*$';
export const ENTRYPOINT_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,62}$';
export const PARAM_KEY_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$';
