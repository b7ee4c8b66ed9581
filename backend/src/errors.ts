/** Errors the services throw; the HTTP layer maps them to {error:{code,message,details}}. */
import type { ErrorCode } from '@trainyard/shared';

const STATUS: Record<ErrorCode, number> = {
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

export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export const invalid = (message: string, details?: unknown) => new HttpError('invalid_request', message, details);
export const notFound = (message: string) => new HttpError('not_found', message);
export const conflict = (message: string, details?: unknown) => new HttpError('conflict', message, details);
