/**
 * An environment's digest: the sha256 hex of its JSON. A save sends it (POST /v1/snapshots
 * `environmentDigest`) in place of an environment the backend was sent before; the backend stores
 * environments under it (backend/src/snapshots/environments.ts). Both sides hash the same
 * JSON.stringify of the same object, as sent and as parsed. Node-only.
 */
import { createHash } from 'node:crypto';
import type { SnapshotEnvironment } from '../schemas/snapshots';

export const environmentDigest = (env: SnapshotEnvironment): string => createHash('sha256').update(JSON.stringify(env)).digest('hex');
