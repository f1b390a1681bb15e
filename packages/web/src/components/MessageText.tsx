import { findMentions } from '@parley/protocol';

export interface Part {
  text: string;
  mention: boolean;
}

/** Splits `content` around its mentions of `username` (any case), by the contract's rule. */
export function splitMentions(content: string, username: string): Part[] {
  const parts: Part[] = [];
  const wanted = username.toLowerCase();
  let from = 0;
  for (const { start, end, name } of findMentions(content)) {
    if (name.toLowerCase() !== wanted) continue;
    if (start > from) parts.push({ text: content.slice(from, start), mention: false });
    parts.push({ text: content.slice(start, end), mention: true });
    from = end;
  }
  if (from < content.length) parts.push({ text: content.slice(from), mention: false });
  return parts;
}

interface MessageTextProps {
  content: string;
  /** My username when the message mentions me; then each `@me` is highlighted. */
  mentionOf: string | null;
}

export function MessageText({ content, mentionOf }: MessageTextProps) {
  const parts = mentionOf ? splitMentions(content, mentionOf) : [{ text: content, mention: false }];
  return (
    <p className="text" dir="auto">
      {parts.map((part, i) =>
        part.mention ? (
          <mark key={i} className="mention-me">
            {part.text}
          </mark>
        ) : (
          part.text
        ),
      )}
    </p>
  );
}
