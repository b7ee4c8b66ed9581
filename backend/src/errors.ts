/** Errors the services throw; the HTTP layer maps them to {error:{code,message,details}}. */
import { ERROR_STATUS, type ErrorCode } from '@trainyard/shared';

const STATUS: Record<ErrorCode, number> = ERROR_STATUS;

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
