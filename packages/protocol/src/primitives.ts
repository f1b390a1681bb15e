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

// What shows nothing on screen: whitespace, default-ignorable code points (U+200B, U+2060,
// U+3164, variation selectors...), control and format characters, marks with no base of their own,
// and the blank Braille pattern that impersonators favour.
const INVISIBLE =
  /^[\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\p{Mn}\p{Me}\u2800]*$/u;
/** True when the string has at least one character a person can see. */
export const hasVisible = (s: string): boolean => !INVISIBLE.test(s);

// Bidirectional controls (embeddings, overrides, isolates, marks): they reorder what follows, so
// that `\u202egnp.exe` reads as "exe.png".
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

/**
 * A name people read (display name, group name): `text` with a visible character and no
 * bidirectional controls.
 */
export const label = (min: number, max: number) =>
  text(min, max)
    .refine(hasVisible, { message: 'needs a visible character' })
    .refine((s) => !BIDI_CONTROL.test(s), {
      message: 'must not contain bidirectional control characters',
    });

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
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;
/**
 * A new password's shape, as clients can check it too. The server also refuses the username and
 * the commonest passwords (a list too large for a client bundle).
 */
export const password = () =>
  text(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH).refine(hasVisible, {
    message: 'needs a visible character, not only spaces',
  });

export const MESSAGE_MAX_LENGTH = 4000;
/**
 * Content as stored and sent: at most 4000 characters once trimmed, possibly empty (a message
 * that carries attachments may say nothing).
 */
export const messageText = () =>
  z
    .string()
    .refine(noNul, { message: 'must not contain U+0000' })
    .refine(wellFormed, { message: 'must be well-formed Unicode (no lone surrogates)' })
    .refine((s) => codePointLength(s.trim()) <= MESSAGE_MAX_LENGTH, {
      message: `is too long (at most ${MESSAGE_MAX_LENGTH} characters)`,
    });

// Control characters (a newline in a Content-Disposition header, an escape sequence in a log),
// and the separators of paths: a file's name is a name, never a place.
const FILE_NAME_FORBIDDEN = /[\p{Cc}/\\]/u;
export const FILE_NAME_MAX_LENGTH = 255;
/**
 * An uploaded file's name, as people read it: a `label` (a visible character, no bidirectional
 * controls, which would show `\u202egnp.exe` as "exe.png") of 1 to 255 characters, with no control
 * characters and no `/` or `\\`.
 */
export const fileName = () =>
  label(1, FILE_NAME_MAX_LENGTH).refine((s) => !FILE_NAME_FORBIDDEN.test(s), {
    message: 'must not contain control characters, / or \\',
  });

/** Bytes of UTF-8 a well-formed string takes. */
export const utf8Length = (s: string): number => {
  let n = 0;
  for (const c of s) {
    const cp = c.codePointAt(0) ?? 0;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
};

export const EMOJI_MAX_BYTES = 64;
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
// A pictograph (or a lone skin-tone modifier) or a flag's regional indicators make a grapheme an
// emoji; plain digits, letters and symbols are not, even with U+FE0F after them. A keycap is
// exactly one of 0-9 # * with an optional U+FE0F, then U+20E3.
const EMOJI_PART = /\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Regional_Indicator}/u;
const KEYCAP = /^[0-9#*]\uFE0F?\u20E3$/u;
const ENCLOSING_KEYCAP = /\u20E3/u;
/** True for one grapheme cluster that is or holds an emoji (keycaps and flags included). */
export const isSingleEmoji = (s: string): boolean => {
  if (ENCLOSING_KEYCAP.test(s)) return KEYCAP.test(s);
  if (s.length === 0 || !EMOJI_PART.test(s)) return false;
  const it = segmenter.segment(s)[Symbol.iterator]();
  const first = it.next();
  return !first.done && it.next().done === true;
};
/** One emoji, kept as sent (`❤` and `❤️` are two): at most 64 bytes of UTF-8. */
export const emoji = () =>
  z
    .string()
    .refine(wellFormed, { message: 'must be well-formed Unicode (no lone surrogates)' })
    .refine((s) => utf8Length(s) <= EMOJI_MAX_BYTES, {
      message: `must be at most ${EMOJI_MAX_BYTES} bytes of UTF-8`,
    })
    .refine(isSingleEmoji, { message: 'must be one emoji' });
