// The contract's mention rule, shared by the server (who is mentioned) and clients (what to
// highlight): `@` at the start or after a character that is not a letter, digit or `_`, then the
// longest run of username characters, less any trailing `.` or `-`.
const MENTION = /(?<![\p{L}\p{N}_])@([A-Za-z0-9_.-]+)/gu;
const TRAILING = /[.-]+$/;

export interface MentionSpan {
  /** Index of the `@` in the content. */
  start: number;
  /** Index just past the name. */
  end: number;
  /** The name as written (any case). */
  name: string;
}

/** Every `@name` of the content, in order, as written. Names may belong to no one. */
export function findMentions(content: string): MentionSpan[] {
  const spans: MentionSpan[] = [];
  for (const match of content.matchAll(MENTION)) {
    const name = (match[1] ?? '').replace(TRAILING, '');
    if (name.length === 0) continue;
    spans.push({ start: match.index, end: match.index + 1 + name.length, name });
  }
  return spans;
}

/** The distinct lower-cased names the content mentions, that could be usernames (3 to 32). */
export function mentionedNames(content: string): string[] {
  const names = new Set<string>();
  for (const { name } of findMentions(content)) {
    if (name.length >= 3 && name.length <= 32) names.add(name.toLowerCase());
  }
  return [...names];
}
