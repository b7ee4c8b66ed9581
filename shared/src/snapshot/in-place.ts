/**
 * The most file paths one request may name for the local fast path (POST /v1/snapshots
 * `localFiles`, POST /v1/snapshots/:id/local-files); a save with more sends them after the
 * manifest, in parts. Its own module so the save client does not load the schemas for it.
 */
export const MAX_IN_PLACE_FILES = 100_000;
