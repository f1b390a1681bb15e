import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { HTTP_STATUS, type ErrorBody, type ErrorCode } from '@parley/protocol';
import { AppError, errorBody } from '../errors.js';

/** Fastify's own failures, by code, in the contract's terms. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'validation_failed',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_VALIDATION: 'validation_failed',
  // @fastify/multipart's: a file over its limit, too many parts, or not multipart at all.
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_PARTS_LIMIT: 'validation_failed',
  FST_FILES_LIMIT: 'validation_failed',
  FST_FIELDS_LIMIT: 'validation_failed',
  FST_PROTO_VIOLATION: 'validation_failed',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'validation_failed',
  FST_MULTIPART_INVALID_CONTENT_TYPE: 'validation_failed',
};

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (headers too large, a
 * malformed request line): answered in the same `{ error }` shape, then the connection closes.
 * Headers too large are `validation_failed` like any malformed request, so 400 (the contract
 * pairs each code with one status), not HTTP's own 431.
 */
export function clientErrorResponse(err: { code?: string }): string {
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({
    error: {
      code: 'validation_failed',
      message: tooLarge ? 'request headers are too large' : 'malformed request',
    },
  });
  return (
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** Every error a client sees, in one shape: `{ error: { code, message } }`. No stack, no SQL. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof AppError) return errorBody(err);
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const where = first?.instancePath.replace(/^\//, '').replace(/\//g, '.') ?? '';
    const context = (err as { validationContext?: string }).validationContext ?? 'body';
    return {
      code: 'validation_failed',
      message: `${context}${where ? `.${where}` : ''}: ${first?.message ?? 'invalid'}`,
    };
  }
  const fe = err as Partial<FastifyError>;
  if (typeof fe.code === 'string' && fe.code in FASTIFY_CODES) {
    const code = FASTIFY_CODES[fe.code] ?? 'validation_failed';
    return {
      code,
      message: code === 'payload_too_large' ? 'request body is too large' : (fe.message ?? code),
    };
  }
  // Malformed JSON surfaces as a SyntaxError with statusCode 400 from the body parser.
  if (fe.statusCode === 400) return { code: 'validation_failed', message: 'malformed request' };
  if (fe.statusCode === 413)
    return { code: 'payload_too_large', message: 'request body is too large' };
  return errorBody(err);
}

/**
 * What Fastify's router refuses before any route or hook runs: a path with a malformed `%`
 * escape (`/api/chats/%ZZ`). Answered in the contract's shape, where Fastify's own body would
 * carry `error` as a string. No hook runs for it, so the CORS headers an allowed origin needs to
 * read the answer (the CORS plugin's, for every other) are set here, and `nosniff`.
 */
export function frameworkErrorHandler(corsOrigins: readonly string[]) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const malformedUrl = err.code === 'FST_ERR_BAD_URL';
    const body: ErrorBody = malformedUrl
      ? { code: 'validation_failed', message: 'malformed URL' }
      : toErrorBody(err);
    const origin = request.headers.origin;
    if (origin && corsOrigins.includes(origin)) {
      void reply.headers({
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        vary: 'Origin',
      });
    }
    void reply
      .header('x-content-type-options', 'nosniff')
      .status(HTTP_STATUS[body.code])
      .send({ error: body });
  };
}

export function registerErrorHandling(app: FastifyInstance, spaIndex: boolean): void {
  app.setErrorHandler((err, request, reply) => {
    const body = toErrorBody(err);
    if (body.code === 'internal') request.log.error({ err }, 'request failed');
    if (body.code === 'unavailable' && !(err instanceof AppError)) {
      request.log.warn({ err }, 'database unavailable');
    }
    if (err instanceof AppError && err.retryAfterSeconds !== undefined) {
      void reply.header('retry-after', String(Math.max(1, err.retryAfterSeconds)));
    }
    void reply.status(HTTP_STATUS[body.code]).send({ error: body });
  });
  app.setNotFoundHandler((request, reply) => {
    const pathname = request.url.split('?')[0] ?? '';
    const isApi =
      pathname.startsWith('/api/') || pathname === '/api' || pathname.startsWith('/socket.io');
    // A missing hashed asset (an old build's chunk) is a 404, never the page in its place.
    const isAsset = pathname.startsWith('/assets/');
    if (spaIndex && request.method === 'GET' && !isApi && !isAsset) {
      return reply.sendFile('index.html');
    }
    void reply
      .status(404)
      .send({ error: { code: 'not_found', message: `no route ${request.method} ${pathname}` } });
  });
}
