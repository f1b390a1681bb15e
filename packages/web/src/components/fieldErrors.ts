// Refusals said at the field they concern, in the form's own words: never the API's paths
// ("body.newPassword: ..."), which mean nothing to the person filling the form.
import { ApiError } from '../api.js';

/** A refusal that belongs to one field of a form: shown under it, in words. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FieldError';
  }
}

/** "must be at least 8 characters" under "Password" reads "Password must be at least 8 characters." */
export const sentence = (label: string, rule: string): string =>
  `${label} ${rule.replace(/\.$/, '')}.`;

/** How a form names the request's fields: the body key, the form's field and its label. */
export type FieldNames = Readonly<Record<string, { field: string; label: string }>>;

/**
 * A 400 whose message names a request field ("body.password: must not be the username") as a
 * FieldError for the form's field; another 400 in words without its path; null for anything
 * else (the caller words those).
 */
export function validationError(err: unknown, names: FieldNames): Error | null {
  if (!(err instanceof ApiError) || err.code !== 'validation_failed') return null;
  const [, key = '', rule = err.message] =
    /^[a-z]+(?:\.(\w+))?[.\w]*: (.+)$/s.exec(err.message) ?? [];
  const named = Object.hasOwn(names, key) ? names[key] : undefined;
  if (named) return new FieldError(named.field, sentence(named.label, rule));
  return new Error(sentence('That was not accepted:', rule));
}
