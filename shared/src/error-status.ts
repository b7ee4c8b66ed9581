/**
 * The HTTP status each error code is answered with: the server maps codes to statuses, and clients
 * map a failure reported in a body (a failed build's errorCode) back. TypeBox-free, so the CLI's
 * client path can use it without loading the schema library.
 */
import type { ErrorCode } from './schemas/common';

export const ERROR_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
};
