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

/** The start-up line the contract promises whatever LOG_LEVEL is (only `silent`, for tests, mutes it). */
export function announceListening(url: string, level: Config['logLevel']): void {
  if (level !== 'silent') pino({ level: 'info' }).info({ url }, 'listening');
}
