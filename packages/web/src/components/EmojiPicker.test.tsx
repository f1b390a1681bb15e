import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { loadEmoji, normalizeEmoji, searchEmoji } from './emoji.js';
import { EmojiPicker } from './EmojiPicker.js';

function renderPicker() {
  const onPick = vi.fn<(emoji: string) => void>();
  const onClose = vi.fn<(refocus: boolean) => void>();
  render(<EmojiPicker onPick={onPick} onClose={onClose} />);
  return { onPick, onClose, search: screen.getByRole('searchbox', { name: 'Search emoji' }) };
}

describe('EmojiPicker', () => {
  it('offers common emoji at once', async () => {
    const { onPick } = renderPicker();
    const common = screen.getByRole('group', { name: 'Common emoji' });
    expect(within(common).getAllByRole('button').length).toBeGreaterThanOrEqual(8);
    await userEvent.click(within(common).getByRole('button', { name: '👍' }));
    expect(onPick).toHaveBeenCalledExactlyOnceWith('👍');
  });

  it('searches the full emoji set by name and keyword', async () => {
    const { onPick, search } = renderPicker();
    await userEvent.type(search, 'avocado');
    const found = await screen.findByRole('group', { name: 'Emoji found' });
    await userEvent.click(await within(found).findByRole('button', { name: '🥑' }));
    expect(onPick).toHaveBeenCalledExactlyOnceWith('🥑');
    expect(screen.getByRole('status').textContent).toBe('1 found');
  });

  it('matches every word of the query as a word start, and says when nothing matches', async () => {
    const { search } = renderPicker();
    await userEvent.type(search, 'thumbs u');
    const found = await screen.findByRole('button', { name: '👍' });
    expect(found.title).toBe('thumbs up');
    expect(screen.queryByRole('button', { name: '👎' })).toBeNull();
    await userEvent.clear(search);
    await userEvent.type(search, 'zzzqqq');
    expect((await screen.findByRole('status')).textContent).toBe('No emoji found');
  });

  it('closes on Escape, asking for focus back', async () => {
    const { onClose } = renderPicker();
    await userEvent.keyboard('{Escape}');
    expect(onClose).toHaveBeenCalledExactlyOnceWith(true);
  });
});

describe('emoji data', () => {
  it('drops a selector the emoji does not need, so one emoji is one reaction', () => {
    expect(normalizeEmoji('👍\uFE0F')).toBe('👍');
    expect(normalizeEmoji('❤️')).toBe('❤️');
    expect(normalizeEmoji('1\uFE0F\u20E3')).toBe('1\uFE0F\u20E3');
  });

  it('holds the full set, without skin-tone components, in Unicode order', async () => {
    const entries = await loadEmoji();
    expect(entries.length).toBeGreaterThan(1500);
    expect(entries.some((e) => e.label.startsWith('light skin tone'))).toBe(false);
    expect(searchEmoji(entries, 'red heart')[0]?.emoji).toBe('❤️');
    expect(searchEmoji(entries, 'japan').map((e) => e.emoji)).toContain('🇯🇵');
    // The emoji named so comes before those only tagged so (🧑‍🚀 is tagged "rocket").
    expect(searchEmoji(entries, 'rocket')[0]?.emoji).toBe('🚀');
    expect(searchEmoji(entries, 'cat')[0]?.emoji).toBe('🐈');
  });
});
