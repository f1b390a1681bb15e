import { findMentions } from '@parley/protocol';
import MarkdownIt, { type Token } from 'markdown-it';
import { Fragment, useMemo, type ReactNode } from 'react';

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

/** The only link targets a message may carry: no `javascript:`, `data:`, relative or file links. */
const SAFE_HREF = /^(https?:\/\/|mailto:)/i;

/**
 * A chat's Markdown: bold, italics, strikethrough, inline code, fenced code blocks, quotes and
 * links found in the text (bare URLs and `<…>` autolinks). Starting from the `zero` preset means
 * everything else stays plain text: no raw HTML (`html: false`), no images, headings, lists,
 * tables, rules, `[text](url)` links (their text can hide where they go) or entities (`&amp;`
 * stays as typed). The `newline` rule is left off too, so a line break and the spaces after it
 * stay in the text, which is shown with `white-space: pre-wrap` as typed.
 */
const md = new MarkdownIt('zero', { html: false, linkify: true, typographer: false })
  .enable(['blockquote', 'fence'])
  .enable(['escape', 'backticks', 'emphasis', 'strikethrough', 'autolink', 'linkify']);
md.validateLink = (url) => SAFE_HREF.test(url.trim());

interface Frame {
  token: Token | null;
  children: ReactNode[];
}

/** One paragraph's inline tokens as React elements: never HTML, so nothing in a message runs. */
function renderInline(tokens: readonly Token[], mentionOf: string | null): ReactNode[] {
  const stack: Frame[] = [{ token: null, children: [] }];
  const top = () => stack[stack.length - 1] as Frame;
  const inLink = () => stack.some((frame) => frame.token?.type === 'link_open');
  for (const token of tokens) {
    const into = top().children;
    const key = into.length;
    switch (token.type) {
      case 'text':
        if (mentionOf && !inLink()) {
          for (const part of splitMentions(token.content, mentionOf)) {
            into.push(
              part.mention ? (
                <mark key={into.length} className="mention-me">
                  {part.text}
                </mark>
              ) : (
                part.text
              ),
            );
          }
        } else {
          into.push(token.content);
        }
        break;
      case 'code_inline':
        into.push(<code key={key}>{token.content}</code>);
        break;
      case 'softbreak':
      case 'hardbreak':
        into.push('\n');
        break;
      default:
        if (token.nesting === 1) {
          stack.push({ token, children: [] });
        } else if (token.nesting === -1 && stack.length > 1) {
          const frame = stack.pop() as Frame;
          top().children.push(wrap(frame, top().children.length));
        } else {
          into.push(token.content);
        }
    }
  }
  while (stack.length > 1) {
    const frame = stack.pop() as Frame;
    top().children.push(wrap(frame, top().children.length));
  }
  return top().children;
}

function wrap({ token, children }: Frame, key: number): ReactNode {
  if (!token) return children;
  switch (token.type) {
    case 'strong_open':
      return <strong key={key}>{children}</strong>;
    case 'em_open':
      return <em key={key}>{children}</em>;
    case 's_open':
      return <s key={key}>{children}</s>;
    case 'link_open': {
      const href = String(token.attrGet('href') ?? '');
      // Checked again here, not only by the parser: a link is only ever one of these schemes.
      if (!SAFE_HREF.test(href)) return <span key={key}>{children}</span>;
      return (
        <a key={key} href={href} target="_blank" rel="noopener noreferrer">
          {children}
        </a>
      );
    }
    default:
      return <span key={key}>{children}</span>;
  }
}

interface Block {
  node: ReactNode;
  /** Source lines [first, after last], to keep the blank lines between blocks. */
  map: readonly number[];
  /** A paragraph flows as text; a quote or code block is a box of its own. */
  inline: boolean;
}

function renderBlocks(
  tokens: readonly Token[],
  from: number,
  to: number,
  lines: readonly string[],
  mentionOf: string | null,
): ReactNode[] {
  const blocks: Block[] = [];
  for (let i = from; i < to; i++) {
    const token = tokens[i] as Token;
    const map = token.map ?? [0, 0];
    if (token.type === 'paragraph_open') {
      const inline = tokens[i + 1];
      const children = renderInline(inline?.children ?? [], mentionOf);
      // The parser trims a paragraph; the indent of a top-level one is the author's.
      const indent = token.level === 0 ? (/^[ \t]*/.exec(lines[map[0] ?? 0] ?? '')?.[0] ?? '') : '';
      blocks.push({ node: [indent, ...children], map, inline: true });
      i += 2;
    } else if (token.type === 'blockquote_open') {
      let depth = 1;
      let j = i + 1;
      for (; j < to && depth > 0; j++) {
        const type = (tokens[j] as Token).type;
        if (type === 'blockquote_open') depth++;
        if (type === 'blockquote_close') depth--;
      }
      const inner = renderBlocks(tokens, i + 1, j - 1, lines, mentionOf);
      blocks.push({ node: <blockquote>{inner}</blockquote>, map, inline: false });
      i = j - 1;
    } else if (token.type === 'fence' || token.type === 'code_block') {
      const code = token.content.replace(/\n$/, '');
      blocks.push({
        node: (
          <pre>
            <code>{code}</code>
          </pre>
        ),
        map,
        inline: false,
      });
    }
  }
  // Between two blocks, the line break that ends the first and every blank line after it. The
  // first break is dropped after a box (a new box starts a line anyway) and is absorbed by the
  // layout before one (a trailing break in pre-wrap text draws no empty line).
  const out: ReactNode[] = [];
  blocks.forEach((block, n) => {
    const prev = n > 0 ? blocks[n - 1] : undefined;
    if (prev) {
      const blank = Math.max(0, (block.map[0] ?? 0) - (prev.map[1] ?? 0));
      out.push('\n'.repeat(blank + (prev.inline ? 1 : 0)));
    }
    out.push(<Fragment key={n}>{block.node}</Fragment>);
  });
  return out;
}

interface MessageTextProps {
  content: string;
  /** My username when the message mentions me; then each `@me` is highlighted. */
  mentionOf: string | null;
}

export function MessageText({ content, mentionOf }: MessageTextProps) {
  // A list re-renders on every typing or presence change; its messages' text does not change.
  const blocks = useMemo(() => {
    const tokens = md.parse(content, {});
    const lines = content.split(/\r\n?|\n/);
    return renderBlocks(tokens, 0, tokens.length, lines, mentionOf);
  }, [content, mentionOf]);
  return (
    <div className="text" dir="auto">
      {blocks.length > 0 ? blocks : content}
    </div>
  );
}
