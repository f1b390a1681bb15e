import type { ErrorBody, ErrorCode } from '@parley/protocol';

/**
 * A failure the caller should hear about, with its contract code. Services throw these; the HTTP
 * error handler and the socket ack wrapper are the two places that turn them into answers.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const validationFailed = (message: string) => new AppError('validation_failed', message);
export const unauthorized = (message = 'authentication required') =>
  new AppError('unauthorized', message);
export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (message: string) => new AppError('forbidden', message);
export const conflict = (message: string) => new AppError('conflict', message);
export const rateLimited = () => new AppError('rate_limited', 'too many requests, slow down');
export const unavailable = () => new AppError('unavailable', 'the server is shutting down');

/** PostgreSQL's unique_violation, from pg and PGlite alike. */
export const isUniqueViolation = (err: unknown, constraint?: string): boolean => {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
};

/** What a client hears of a failure: its code and message, or a bare `internal` (no stack, no SQL). */
export const errorBody = (err: unknown): ErrorBody =>
  err instanceof AppError
    ? { code: err.code, message: err.message }
    : { code: 'internal', message: 'internal error' };
