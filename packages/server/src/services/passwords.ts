import { hash, verify } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';
import { validationFailed } from '../errors.js';

// Algorithm.Argon2id; the package's const enum cannot be imported under verbatimModuleSyntax.
const ARGON2 = { algorithm: 2 } as const;

// zxcvbn-ts's list of the commonest passwords from breach corpora (about 49,000), folded once.
// It stays on the server: a web bundle has no business carrying it.
const COMMON = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2);

/** False for a mismatch and for a hash that is no Argon2 string at all. */
export const verifyPassword = (passwordHash: string, password: string): Promise<boolean> =>
  verify(passwordHash, password).catch(() => false);

/**
 * The rules a new password obeys beyond its shape (length and a visible character, which the
 * schema checks): not the username and not a common password, any case, ignoring surrounding
 * spaces. Sign-in never applies them, so older accounts keep working.
 */
export function assertAcceptablePassword(password: string, username: string, field: string): void {
  const folded = password.trim().toLowerCase();
  if (folded === username.toLowerCase()) {
    throw validationFailed(`body.${field}: must not be the username`);
  }
  if (COMMON.has(folded)) {
    throw validationFailed(
      `body.${field}: is one of the most common passwords; choose one that is harder to guess`,
    );
  }
}
