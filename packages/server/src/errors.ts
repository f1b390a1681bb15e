import type { ErrorBody, ErrorCode } from '@parley/protocol';

/**
 * A failure the caller should hear about, with its contract code. Services throw these; the HTTP
 * error handler and the socket ack wrapper are the two places that turn them into answers.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /**
     * Fields a socket ack carries beside `error` (an upload's `conflict` says `received`), or,
     * for `rate_limited`, seconds until a retry can succeed (HTTP's Retry-After).
     */
    extra?: number | { received: number },
  ) {
    super(message);
    this.name = 'AppError';
    if (typeof extra === 'number') this.retryAfterSeconds = extra;
    else this.details = extra;
  }

  /** For `rate_limited`: seconds until a retry can succeed. */
  readonly retryAfterSeconds?: number;
  /** What an acknowledgement adds beside `error`. */
  readonly details?: { received: number };
}

export const validationFailed = (message: string) => new AppError('validation_failed', message);
export const unauthorized = (message = 'authentication required') =>
  new AppError('unauthorized', message);
export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (message: string) => new AppError('forbidden', message);
export const conflict = (message: string) => new AppError('conflict', message);
export const rateLimited = (retryAfterSeconds?: number) =>
  new AppError('rate_limited', 'too many requests, slow down', retryAfterSeconds);
/** A file over MAX_UPLOAD_BYTES, however it came: declared, counted as it streamed, or both. */
export const payloadTooLarge = (maxBytes: number) =>
  new AppError('payload_too_large', `files are at most ${maxBytes} bytes (MAX_UPLOAD_BYTES)`);
export const unavailable = () => new AppError('unavailable', 'the server is shutting down');

/** PostgreSQL's unique_violation, from pg and PGlite alike. */
export const isUniqueViolation = (err: unknown, constraint?: string): boolean => {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
};

/** Raised by the database layer itself when it answers for a database that does not. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
}

/**
 * The database cannot serve us now: the retry-later kind, answered `unavailable`, never
 * `internal`. From pg and PGlite alike:
 * - unreachable: connection failures from the driver, PostgreSQL's connection_exception class
 *   (08xxx), admin shutdown (57P0x), a dropped database (3D000), a closed pool or PGlite;
 * - not answering: pg's connect and query timeouts, a statement cancelled by statement_timeout
 *   (57014), a connection that died earlier (not queryable);
 * - unable to write: disk full (53100, ENOSPC, EDQUOT), an I/O error (58030, EIO), a read-only
 *   file system (EROFS).
 */
export const isDatabaseUnavailable = (err: unknown): boolean => {
  if (err instanceof DatabaseUnavailableError) return true;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    /^(08...|57P0.|57014|3D000|53100|58030|ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EPIPE|ENOSPC|EDQUOT|EROFS|EIO)$/.test(
      code,
    ) ||
    /Connection terminated|pool after calling end|PGlite is closed|driver has already been destroyed|Query read timeout|timeout exceeded when trying to connect|not queryable/i.test(
      message,
    )
  );
};

/** A file system error in words, for an operator: `read-only file system` rather than `EROFS: ...`. */
export const fsReason = (err: unknown): string => {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const known: Record<string, string> = {
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a path component is not a directory',
    EIO: 'input/output error',
  };
  if (typeof code === 'string' && known[code]) return known[code];
  return typeof message === 'string' ? message : String(err);
};

/** What a client hears of a failure: its code and message, or a bare `internal` (no stack, no SQL). */
export const errorBody = (err: unknown): ErrorBody => {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  if (isDatabaseUnavailable(err))
    return { code: 'unavailable', message: 'the database is unavailable' };
  return { code: 'internal', message: 'internal error' };
};
