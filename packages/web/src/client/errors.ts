// How failures reach the person: words they can act on, never an API path or a stack.
import type { AckFailure } from '@parley/protocol';
import { ApiError, describeError } from '../api.js';
import type { TimedOut } from '../socket.js';

/** A refused action (edit, delete, react, ...), its message already in words for a person. */
export class ActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActionError';
  }
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return describeError(err.code, err.message);
  if (err instanceof ActionError) return err.message;
  return 'Something went wrong.';
}

/** Rethrows any failure as an ActionError, for callers that show `error.message`. */
export function asActionError(err: unknown): ActionError {
  return err instanceof ActionError ? err : new ActionError(errorText(err));
}

/** Why an acknowledgement is no success, in words: the server's refusal, or no answer. */
export function refusalText(ack: AckFailure | TimedOut): string {
  return 'timedOut' in ack
    ? describeError('timeout')
    : describeError(ack.error.code, ack.error.message);
}
