import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

/**
 * JSON lines on stdout. Tokens, passwords and message bodies never reach a log: request bodies
 * are not logged at all, and the headers and fields that could carry secrets are redacted in case
 * a future line includes them.
 */
export function createLogger(level: Config['logLevel']): Logger {
  return pino({
    level,
    // Fastify's request line, without the query string: a signed attachment URL carries its
    // signature there, and a logged one would let anyone with the logs fetch the file.
    // (Fastify takes the serializers of the logger it is given over its own.)
    serializers: { req: requestLine },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        '*.token',
        '*.password',
        '*.currentPassword',
        '*.newPassword',
        '*.content',
        'token',
        'password',
        'currentPassword',
        'newPassword',
        'content',
      ],
      censor: '[redacted]',
    },
  });
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

function requestLine(req: LoggedRequest) {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return {
    method: req.method,
    url: query < 0 ? url : `${url.slice(0, query)}?[redacted]`,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** The start-up line the contract promises whatever LOG_LEVEL is (only `silent`, for tests, mutes it). */
export function announceListening(url: string, level: Config['logLevel']): void {
  if (level !== 'silent') pino({ level: 'info' }).info({ url }, 'listening');
}
