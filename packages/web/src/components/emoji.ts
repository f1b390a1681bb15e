// Emoji for reactions: a few common ones at hand, and the full Unicode set (emojibase-data,
// bundled with the app) loaded only when someone searches it.
import type { CompactEmoji } from 'emojibase';

export interface EmojiEntry {
  emoji: string;
  label: string;
  /** Lowercase words a search matches the starts of: the label's words, tags, shortcodes. */
  words: string[];
}

/** The picker's first row, as most messengers offer it. */
export const COMMON_EMOJI: readonly { emoji: string; label: string }[] = [
  { emoji: '👍', label: 'thumbs up' },
  { emoji: '❤️', label: 'red heart' },
  { emoji: '😂', label: 'face with tears of joy' },
  { emoji: '😮', label: 'face with open mouth' },
  { emoji: '😢', label: 'crying face' },
  { emoji: '🎉', label: 'party popper' },
  { emoji: '🙏', label: 'folded hands' },
  { emoji: '👀', label: 'eyes' },
  { emoji: '🔥', label: 'fire' },
  { emoji: '✅', label: 'check mark button' },
  { emoji: '👎', label: 'thumbs down' },
  { emoji: '😊', label: 'smiling face with smiling eyes' },
];

// The server keeps emoji as sent, so 👍 and 👍+U+FE0F would be two reactions. emojibase adds
// U+FE0F to some emoji that are shown as emoji without it; drop it there, as Unicode's
// fully-qualified form does (❤️ keeps it: ❤ alone is text by default).
const REDUNDANT_SELECTOR = /(\p{Emoji_Presentation})\uFE0F/gu;
export const normalizeEmoji = (emoji: string): string => emoji.replace(REDUNDANT_SELECTOR, '$1');

/** emojibase's group 2 is skin-tone and hair components, not emoji anyone reacts with. */
const COMPONENT_GROUP = 2;

const wordsOf = (e: CompactEmoji): string[] =>
  [...e.label.split(/[\s:,]+/), ...(e.tags ?? []), ...(e.shortcodes ?? [])]
    .map((w) => w.toLowerCase())
    .filter(Boolean);

export function toEntries(data: readonly CompactEmoji[]): EmojiEntry[] {
  return data
    .filter((e) => e.group !== undefined && e.group !== COMPONENT_GROUP)
    .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
    .map((e) => ({ emoji: normalizeEmoji(e.unicode), label: e.label, words: wordsOf(e) }));
}

let loading: Promise<EmojiEntry[]> | null = null;

/** The full set, fetched from the app's own bundle the first time it is asked for. */
export function loadEmoji(): Promise<EmojiEntry[]> {
  loading ??= import('emojibase-data/en/compact.json').then((m) => toEntries(m.default));
  // A failed load (e.g. the chunk could not be fetched) may be tried again.
  loading.catch(() => {
    loading = null;
  });
  return loading;
}

/**
 * Emoji whose words start with every word of the query: those whose name says it first (a whole
 * name, then words of the name), then those only tagged with it; in Unicode's order within each.
 */
export function searchEmoji(entries: readonly EmojiEntry[], query: string, limit = 48) {
  const q = query.trim().toLowerCase();
  const terms = q.split(/\s+/).filter(Boolean);
  if (terms.length === 0) return [];
  const ranked: { entry: EmojiEntry; rank: number }[] = [];
  for (const entry of entries) {
    if (!terms.every((t) => entry.words.some((w) => w.startsWith(t)))) continue;
    const label = entry.label.toLowerCase();
    const nameWords = label.split(/[\s:,]+/);
    const byName = terms.every((t) => nameWords.some((w) => w.startsWith(t)));
    ranked.push({ entry, rank: label === q ? 0 : byName ? 1 : 2 });
  }
  // Array.prototype.sort is stable: Unicode's order holds within a rank.
  return ranked
    .sort((a, b) => a.rank - b.rank)
    .slice(0, limit)
    .map((r) => r.entry);
}
