import type { Message } from '@parley/protocol';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import {
  matchRanges,
  queryWords,
  SearchMessages,
  snippet,
  type SearchPage,
} from './SearchMessages.js';

const now = new Date('2026-01-01T12:00:00.000Z');
const alice = f.me({ username: 'alice', display_name: 'Alice' });
const bob = f.user({ username: 'bob', display_name: 'Bob Stone' });
const carol = f.user({ username: 'carol', display_name: 'Carol' });
const withBob = f.chat([alice, bob]);
const team = f.chat([alice, bob, carol], { name: 'Weekend plans' });

type Search = (query: { q: string; before?: string }) => Promise<SearchPage>;

function setup(search: Search) {
  const onOpen = vi.fn<(m: Message) => void>();
  const onActiveChange = vi.fn<(active: boolean) => void>();
  render(
    <SearchMessages
      search={search}
      chats={[withBob, team]}
      meId={alice.id}
      now={now}
      onOpen={onOpen}
      onActiveChange={onActiveChange}
      debounceMs={0}
    />,
  );
  return {
    onOpen,
    onActiveChange,
    field: screen.getByRole('searchbox', { name: 'Search messages' }),
  };
}

/** One change to the field, as a paste: the debounce would merge typed keys the same way. */
async function enter(field: HTMLElement, text: string) {
  await userEvent.click(field);
  await userEvent.paste(text);
}

describe('SearchMessages', () => {
  it('lists matches with chat, sender and the words emphasised, and opens the one chosen', async () => {
    const hit1 = f.message(team, carol, 7, 'The café opens at nine on Saturday');
    const hit2 = f.message(withBob, alice, 3, 'Meet at the Cafe?');
    const search = vi.fn<Search>().mockResolvedValue({ messages: [hit1, hit2], has_more: false });
    const { onOpen, onActiveChange, field } = setup(search);

    await enter(field, 'cafe');
    const results = await screen.findByRole('list', { name: 'Search results' });
    expect(search).toHaveBeenLastCalledWith({ q: 'cafe' });
    expect(onActiveChange).toHaveBeenLastCalledWith(true);

    const buttons = within(results).getAllByRole('button');
    expect(buttons.map((b) => b.textContent)).toEqual([
      expect.stringMatching(/^Weekend plans.*Carol: The café opens at nine on Saturday$/),
      expect.stringMatching(/^Bob Stone.*You: Meet at the Cafe\?$/),
    ]);
    // The matched word is emphasised, accents and case as written.
    expect(within(buttons[0]!).getByText('café').tagName).toBe('MARK');
    expect(within(buttons[1]!).getByText('Cafe').tagName).toBe('MARK');
    expect(screen.getByText('2 messages found.')).toBeTruthy();

    await userEvent.click(buttons[0]!);
    expect(onOpen).toHaveBeenCalledExactlyOnceWith(hit1);
    expect(buttons[0]!.getAttribute('aria-current')).toBe('true');
  });

  it('loads more with the last result as `before`', async () => {
    const first = [9, 8].map((seq) => f.message(withBob, bob, seq, `lunch plan ${seq}`));
    const more = [f.message(withBob, bob, 2, 'lunch plan 2')];
    const search = vi
      .fn<Search>()
      .mockResolvedValueOnce({ messages: first, has_more: true })
      .mockResolvedValueOnce({ messages: more, has_more: false });
    const { field } = setup(search);

    await enter(field, 'lunch');
    const results = await screen.findByRole('list', { name: 'Search results' });
    await userEvent.click(screen.getByRole('button', { name: 'Load more' }));

    expect(search).toHaveBeenLastCalledWith({ q: 'lunch', before: first[1]!.id });
    await vi.waitFor(() =>
      expect(within(results).getAllByRole('button').at(-1)?.textContent).toMatch(/lunch plan 2$/),
    );
    expect(within(results).getAllByRole('button')).toHaveLength(3);
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
  });

  it('says when nothing matches, and when the search failed, with a way to try again', async () => {
    const search = vi
      .fn<Search>()
      .mockResolvedValueOnce({ messages: [], has_more: false })
      .mockRejectedValueOnce(new Error('The server is not reachable.'))
      .mockResolvedValueOnce({ messages: [f.message(team, bob, 1, 'zebra')], has_more: false });
    const { field } = setup(search);

    await enter(field, 'xylophone');
    expect(await screen.findByText('No messages match “xylophone”.')).toBeTruthy();
    expect(screen.queryByRole('list', { name: 'Search results' })).toBeNull();

    await userEvent.clear(field);
    await enter(field, 'zebra');
    expect((await screen.findByRole('alert')).textContent).toMatch(
      /Search failed: The server is not reachable\./,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    await screen.findByRole('list', { name: 'Search results' });
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('is driven by the keyboard: arrows move through results, Escape clears', async () => {
    const hits = [f.message(team, bob, 2, 'pizza tonight'), f.message(team, carol, 1, 'pizza?')];
    const search = vi.fn<Search>().mockResolvedValue({ messages: hits, has_more: false });
    const { onOpen, onActiveChange, field } = setup(search);

    await enter(field, 'pizza');
    const results = await screen.findByRole('list', { name: 'Search results' });
    const buttons = within(results).getAllByRole('button');
    await userEvent.keyboard('{ArrowDown}');
    expect(document.activeElement).toBe(buttons[0]);
    await userEvent.keyboard('{ArrowDown}');
    expect(document.activeElement).toBe(buttons[1]);
    await userEvent.keyboard('{Enter}');
    expect(onOpen).toHaveBeenCalledExactlyOnceWith(hits[1]);
    await userEvent.keyboard('{ArrowUp}{ArrowUp}');
    expect(document.activeElement).toBe(field);

    await userEvent.keyboard('{Escape}');
    expect((field as HTMLInputElement).value).toBe('');

    // Ctrl+K comes back to the field from anywhere.
    (document.activeElement as HTMLElement).blur();
    await userEvent.keyboard('{Control>}k{/Control}');
    expect(document.activeElement).toBe(field);
    expect(screen.queryByRole('list', { name: 'Search results' })).toBeNull();
    expect(onActiveChange).toHaveBeenLastCalledWith(false);
  });

  it('shows only the answer to the latest query', async () => {
    let answerOld: (page: SearchPage) => void = () => {};
    const search = vi.fn<Search>((query) =>
      query.q === 'ap'
        ? new Promise<SearchPage>((resolve) => {
            answerOld = resolve;
          })
        : Promise.resolve({ messages: [f.message(team, bob, 5, 'apple pie')], has_more: false }),
    );
    const { field } = setup(search);

    await enter(field, 'ap');
    await vi.waitFor(() => expect(search).toHaveBeenCalledWith({ q: 'ap' }));
    await enter(field, 'ple');
    await screen.findByText('pie', { exact: false });
    answerOld({ messages: [f.message(team, bob, 4, 'april showers')], has_more: false });
    await new Promise((r) => setTimeout(r, 10));
    expect(screen.queryByText(/april/)).toBeNull();
  });
});

describe('matching as the server does', () => {
  it('takes words in any case, without accents, longest first', () => {
    expect(queryWords('  Crème  brûlée crème ')).toEqual(['brulee', 'creme']);
  });

  it('emphasises word prefixes, and substrings in scripts without spaces', () => {
    const text = 'Привет, Ёлка! Déjà vu. 東京タワーへ';
    const at = (word: string) => {
      const i = text.indexOf(word);
      return [i, i + word.length];
    };
    expect(matchRanges(text, queryWords('ёл DEJA タワー'))).toEqual([
      at('Ёл'),
      at('Déjà'),
      at('タワー'),
    ]);
    // Not in the middle of a word.
    expect(matchRanges('Escape the cape', ['cape'])).toEqual([[11, 15]]);
  });

  it('cuts long messages around the first match', () => {
    const long = `${'word '.repeat(60)}needle ${'tail '.repeat(40)}`;
    const s = snippet(long, ['needle']);
    expect(s.startsWith('…')).toBe(true);
    expect(s.endsWith('…')).toBe(true);
    expect(s).toContain('needle');
    expect(s.length).toBeLessThanOrEqual(142);
  });
});
