import { z } from 'zod';

/** Lengths in the contract count code points, not UTF-16 units. */
export const codePointLength = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

// PostgreSQL cannot store U+0000 in text, so every inbound string refuses it up front.
const noNul = (s: string) => !s.includes('\u0000');
// A lone surrogate is no Unicode text: it could only be stored altered (as U+FFFD).
const LONE_SURROGATE = /\p{Cs}/u;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

/** A Unicode string of `min`..`max` code points that PostgreSQL can store. */
export const text = (min: number, max: number) =>
  z
    .string()
    .refine(noNul, { message: 'must not contain U+0000' })
    .refine(wellFormed, { message: 'must be well-formed Unicode (no lone surrogates)' })
    .refine((s) => codePointLength(s) >= min, { message: `must be at least ${min} characters` })
    .refine((s) => codePointLength(s) <= max, { message: `must be at most ${max} characters` });

/** A name people read (display name, group name): `text`, and not only whitespace. */
export const label = (min: number, max: number) =>
  text(min, max).refine((s) => s.trim().length > 0, { message: 'must not be only whitespace' });

/**
 * Any 8-4-4-4-12 hex id. PostgreSQL's uuid type accepts every such string, so a well-formed id
 * of nothing is `not_found`, never `validation_failed`, whatever its version bits. UUIDs are
 * case-insensitive: ids are lower-cased on the way in, so room names and lookups keyed by id
 * match what the database returns.
 */
export const id = () => z.guid().toLowerCase();

export const isoTime = () => z.string();

export const USERNAME_PATTERN = /^[a-zA-Z0-9_.-]{3,32}$/;
export const username = () =>
  z.string().regex(USERNAME_PATTERN, 'must be 3 to 32 of a-z A-Z 0-9 _ . -');
export const password = () => text(8, 128);

export const MESSAGE_MAX_LENGTH = 4000;
/** Content is stored as sent, but must hold 1..4000 characters once trimmed. */
export const messageContent = () =>
  z
    .string()
    .refine(noNul, { message: 'must not contain U+0000' })
    .refine(wellFormed, { message: 'must be well-formed Unicode (no lone surrogates)' })
    .refine((s) => s.trim().length > 0, { message: 'must not be empty' })
    .refine((s) => codePointLength(s.trim()) <= MESSAGE_MAX_LENGTH, {
      message: `is too long (at most ${MESSAGE_MAX_LENGTH} characters)`,
    });
