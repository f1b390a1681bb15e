import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { MessageText } from './MessageText.js';

function show(content: string, mentionOf: string | null = null) {
  const { container } = render(<MessageText content={content} mentionOf={mentionOf} />);
  const text = container.querySelector('.text');
  if (!(text instanceof HTMLElement)) throw new Error('no .text');
  return text;
}

describe('MessageText', () => {
  it('makes web and mail addresses links that open in a new tab without the opener', () => {
    show('see https://example.com/a?b=1 or <https://parley.chat> or mailto:me@example.com');
    const links = screen.getAllByRole('link');
    expect(links.map((a) => a.getAttribute('href'))).toEqual([
      'https://example.com/a?b=1',
      'https://parley.chat',
      'mailto:me@example.com',
    ]);
    for (const link of links) {
      expect(link.getAttribute('target')).toBe('_blank');
      expect(link.getAttribute('rel')).toBe('noopener noreferrer');
    }
    expect(links[0]?.textContent).toBe('https://example.com/a?b=1');
  });

  it('never makes a javascript:, data: or file: link, in any spelling', () => {
    const text = show(
      [
        'javascript:alert(1)',
        '<javascript:alert(2)>',
        '[click](javascript:alert(3))',
        '<JaVaScRiPt:alert(4)>',
        '<data:text/html,hi>',
        '<file:///etc/passwd>',
        '[x](/relative)',
      ].join('\n'),
    );
    expect(screen.queryAllByRole('link')).toEqual([]);
    expect(text.querySelector('a')).toBeNull();
    expect(text.textContent).toContain('javascript:alert(1)');
    expect(text.textContent).toContain('[click](javascript:alert(3))');
  });

  it('shows HTML in a message as the text it is', () => {
    const content = '<script>alert(1)</script> <img src=x onerror="alert(2)"> <b>not bold</b>';
    const text = show(content);
    expect(text.querySelector('script, img, b')).toBeNull();
    expect(text.textContent).toBe(content);
  });

  it('renders bold, italics, strikethrough and inline code', () => {
    const text = show('**bold** and *italic* and _also_ ~~gone~~ and `a  <b>  c`');
    expect(text.querySelector('strong')?.textContent).toBe('bold');
    expect([...text.querySelectorAll('em')].map((e) => e.textContent)).toEqual(['italic', 'also']);
    expect(text.querySelector('s')?.textContent).toBe('gone');
    expect(text.querySelector('code')?.textContent).toBe('a  <b>  c');
    expect(text.textContent).toBe('bold and italic and also gone and a  <b>  c');
  });

  it('keeps a code block exactly as typed, Markdown and spacing included', () => {
    const text = show('look:\n```ts\nif (a) {\n    **b**  =  1;\n\n\tc <i>\n}\n```\ndone');
    const code = text.querySelector('pre > code');
    expect(code?.textContent).toBe('if (a) {\n    **b**  =  1;\n\n\tc <i>\n}');
    expect(text.querySelector('strong, i')).toBeNull();
    expect(text.textContent).toBe(`look:\n${code?.textContent ?? ''}done`);
  });

  it('shows a quote as a quote', () => {
    const text = show('> they said *this*\n> twice\n\nand I agree');
    const quote = text.querySelector('blockquote');
    expect(quote?.textContent).toBe('they said this\ntwice');
    expect(quote?.querySelector('em')?.textContent).toBe('this');
    // After a box a new line starts anyway: the one break left is the blank line.
    expect(text.textContent).toBe('they said this\ntwice\nand I agree');
  });

  it('keeps line breaks, blank lines, indents and the rest as typed', () => {
    const content =
      '  first\n   second  line\n\n\nthird\n# not a heading\n1. not a list\n---\n&amp;';
    expect(show(content).textContent).toBe(content);
  });

  it('leaves snake_case, 2*3 and lone asterisks alone', () => {
    const content = 'call my_var_name with 2 * 3 and a * b';
    const text = show(content);
    expect(text.querySelector('em, strong')).toBeNull();
    expect(text.textContent).toBe(content);
  });

  it('still highlights my mentions, in plain and formatted text but not inside links', () => {
    const text = show('hi @alice, **@Alice look** at https://x.example/@alice', 'alice');
    const marks = [...text.querySelectorAll('mark.mention-me')].map((m) => m.textContent);
    expect(marks).toEqual(['@alice', '@Alice']);
    expect(text.querySelector('strong mark')?.textContent).toBe('@Alice');
    expect(text.querySelector('a mark')).toBeNull();
  });

  it('highlights nothing when the message does not mention me', () => {
    const text = show('hi @alice and @bob', null);
    expect(text.querySelector('mark')).toBeNull();
    expect(text.textContent).toBe('hi @alice and @bob');
  });

  it('lets the text choose its own direction', () => {
    expect(show('שלום?').getAttribute('dir')).toBe('auto');
  });
});
