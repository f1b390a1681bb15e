import type { Chat, User } from '@parley/protocol';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { sortChats } from '../state.js';
import * as f from '../test/factories.js';
import { ChatList } from './ChatList.js';

const now = new Date('2026-01-01T12:00:00.000Z');

describe('ChatList', () => {
  it('names each chat, shows its last message, unread count and presence', async () => {
    const alice = f.me({ username: 'alice' });
    const bob = f.user({ username: 'bob', display_name: 'Bob Stone', status: 'online' });
    const carol = f.user({
      username: 'carol',
      display_name: 'Carol',
      status: 'offline',
      last_seen_at: '2026-01-01T11:55:00.000Z',
    });
    const withBob = f.chat([alice, bob]);
    const withCarol = f.chat([alice, carol]);
    const team = f.chat([alice, bob, carol], { name: 'Weekend plans' });
    const chats = sortChats([
      { ...withBob, last_message: f.message(withBob, bob, 1, 'see you'), unread_count: 2 },
      { ...withCarol, last_message: f.message(withCarol, alice, 3, 'ok!') },
      team,
    ]);
    const onOpen = vi.fn<(id: string) => void>();
    render(
      <ChatList chats={chats} meId={alice.id} openChatId={null} loaded now={now} onOpen={onOpen} />,
    );

    const list = screen.getByRole('list', { name: 'Chats' });
    const links = within(list).getAllByRole('link');
    // Newest activity first; each name starts with the chat's display name, as a reader hears it.
    expect(links).toEqual([
      within(list).getByRole('link', { name: /^Carol, last seen 5 min ago, You: ok!, \S+/ }),
      within(list).getByRole('link', { name: /^Bob Stone, online, see you, .*, 2 unread$/ }),
      within(list).getByRole('link', { name: 'Weekend plans, Group created' }),
    ]);

    await userEvent.click(links[2]!);
    expect(onOpen).toHaveBeenCalledExactlyOnceWith(team.id);
  });

  it('marks unread mentions with "@" and muted chats, in words too', () => {
    const alice = f.me({ username: 'alice' });
    const bob = f.user({ username: 'bob', display_name: 'Bob' });
    const carol = f.user({ username: 'carol', display_name: 'Carol' });
    const team = f.chat([alice, bob, carol], {
      name: 'Team',
      unread_count: 5,
      participants: [
        f.participant(alice, { unread_mentions: 2 }),
        f.participant(bob, { unread_mentions: 0 }),
        f.participant(carol, { unread_mentions: 0 }),
      ],
    });
    const noisy = f.chat([alice, bob, carol], {
      name: 'Noisy',
      unread_count: 3,
      muted: true,
      participants: [
        f.participant(alice, { unread_mentions: 1 }),
        f.participant(bob, { unread_mentions: 4 }),
        f.participant(carol, { unread_mentions: 0 }),
      ],
    });
    const quiet = f.chat([alice, carol], {
      muted: true,
      participants: [
        f.participant(alice, { unread_mentions: 0 }),
        f.participant(carol, { unread_mentions: 0 }),
      ],
    });
    render(
      <ChatList
        chats={[team, noisy, quiet]}
        meId={alice.id}
        openChatId={null}
        loaded
        now={now}
        onOpen={() => {}}
      />,
    );

    const list = screen.getByRole('list', { name: 'Chats' });
    const teamLink = within(list).getByRole('link', {
      name: 'Team, Group created, 5 unread, 2 unread mentions',
    });
    // Only my own count: Bob's 4 mentions in Noisy are not mine.
    const noisyLink = within(list).getByRole('link', {
      name: 'Noisy, Group created, 3 unread, 1 unread mention, muted',
    });
    const quietLink = within(list).getByRole('link', { name: /^Carol, .*muted$/ });

    expect(teamLink.querySelector('.mention-badge')?.textContent).toBe('@2');
    expect(noisyLink.querySelector('.mention-badge')?.textContent).toBe('@1');
    expect(quietLink.querySelector('.mention-badge')).toBeNull();
    expect(teamLink.classList.contains('muted')).toBe(false);
    expect(noisyLink.classList.contains('muted')).toBe(true);
    expect(quietLink.classList.contains('muted')).toBe(true);
  });

  it('mutes and unmutes a chat from its row', async () => {
    const alice = f.me({ username: 'alice' });
    const bob = f.user({ username: 'bob', display_name: 'Bob' });
    const loud = f.chat([alice, bob]);
    const hushed = f.chat([alice, bob], { name: 'Hushed', muted: true });
    const onToggleMute = vi.fn<(chat: Chat) => void>();
    render(
      <ChatList
        chats={[loud, hushed]}
        meId={alice.id}
        openChatId={null}
        loaded
        now={now}
        onOpen={() => {}}
        onToggleMute={onToggleMute}
      />,
    );

    await userEvent.click(screen.getByRole('button', { name: 'Mute Bob' }));
    expect(onToggleMute).toHaveBeenLastCalledWith(loud);
    await userEvent.click(screen.getByRole('button', { name: 'Unmute Hushed' }));
    expect(onToggleMute).toHaveBeenLastCalledWith(hushed);
  });

  describe('filter, pages and row menu', () => {
    const alice = f.me({ username: 'alice' });
    const bob = f.user({ username: 'bob', display_name: 'Bob Stone' });
    const zoe = f.user({ username: 'zoe', display_name: 'Zoë Brown' });
    const withBob = f.chat([alice, bob]);
    const withZoe = f.chat([alice, zoe]);
    const team = f.chat([alice, bob, zoe], { name: 'Design team' });
    const base = {
      meId: alice.id,
      openChatId: null,
      loaded: true,
      now,
      onOpen: () => {},
    };
    const names = () =>
      within(screen.getByRole('list', { name: 'Chats' }))
        .queryAllByRole('link')
        .map((l) => l.querySelector('.chat-item-name')?.textContent);

    it('narrows the list by title as one types, any case, accents ignored', async () => {
      render(<ChatList {...base} chats={[withBob, withZoe, team]} />);
      expect(names()).toEqual(['Bob Stone', 'Zoë Brown', 'Design team']);
      const filter = screen.getByRole('searchbox', { name: 'Filter chats' });
      await userEvent.type(filter, 'zoe');
      expect(names()).toEqual(['Zoë Brown']);
      expect(screen.getByText('1 chat matches.')).toBeTruthy();
      await userEvent.clear(filter);
      await userEvent.type(filter, 'TEAM');
      expect(names()).toEqual(['Design team']);
      await userEvent.type(filter, 'x');
      expect(names()).toEqual([]);
      expect(screen.getByText('No chats match “TEAMx”.')).toBeTruthy();
      await userEvent.clear(filter);
      expect(names()).toEqual(['Bob Stone', 'Zoë Brown', 'Design team']);
    });

    it('offers "Load more chats" while older pages remain, and a filter loads them all', async () => {
      const onLoadOlder = vi.fn();
      const onLoadAll = vi.fn();
      const { rerender } = render(
        <ChatList
          {...base}
          chats={[withBob]}
          older="more"
          onLoadOlder={onLoadOlder}
          onLoadAll={onLoadAll}
        />,
      );
      await userEvent.click(screen.getByRole('button', { name: 'Load more chats' }));
      expect(onLoadOlder).toHaveBeenCalledOnce();
      rerender(
        <ChatList
          {...base}
          chats={[withBob]}
          older="loading"
          onLoadOlder={onLoadOlder}
          onLoadAll={onLoadAll}
        />,
      );
      await userEvent.click(screen.getByRole('button', { name: 'Loading more chats…' }));
      expect(onLoadOlder).toHaveBeenCalledOnce();

      // Filtering for a chat not loaded yet: the older pages are asked for, and it says so.
      rerender(
        <ChatList
          {...base}
          chats={[withBob]}
          older="more"
          onLoadOlder={onLoadOlder}
          onLoadAll={onLoadAll}
        />,
      );
      await userEvent.type(screen.getByRole('searchbox', { name: 'Filter chats' }), 'design');
      expect(onLoadAll).toHaveBeenCalled();
      expect(screen.getByText('Looking through older chats…')).toBeTruthy();
      rerender(
        <ChatList
          {...base}
          chats={[withBob, withZoe, team]}
          older="none"
          onLoadOlder={onLoadOlder}
          onLoadAll={onLoadAll}
        />,
      );
      expect(names()).toEqual(['Design team']);
      expect(screen.queryByRole('button', { name: /Load more chats/ })).toBeNull();
    });

    it("blocks a direct chat's person from the row's menu, and offers Unblock once blocked", async () => {
      const onBlock = vi.fn<(u: User) => void>();
      const onUnblock = vi.fn<(u: User) => void>();
      const { rerender } = render(
        <ChatList
          {...base}
          chats={[withBob, team]}
          onToggleMute={() => {}}
          onBlock={onBlock}
          onUnblock={onUnblock}
        />,
      );
      await userEvent.click(screen.getByRole('button', { name: 'Options for Bob Stone' }));
      const menu = screen.getByRole('menu', { name: 'Options for Bob Stone' });
      expect(
        within(menu)
          .getAllByRole('menuitem')
          .map((i) => i.textContent),
      ).toEqual(['Mute', 'Block']);
      await userEvent.click(within(menu).getByRole('menuitem', { name: 'Block' }));
      expect(onBlock).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ id: bob.id }));

      // A group has no one person to block.
      await userEvent.click(screen.getByRole('button', { name: 'Options for Design team' }));
      expect(
        within(screen.getByRole('menu', { name: 'Options for Design team' }))
          .getAllByRole('menuitem')
          .map((i) => i.textContent),
      ).toEqual(['Mute']);

      rerender(
        <ChatList
          {...base}
          chats={[withBob, team]}
          onToggleMute={() => {}}
          onBlock={onBlock}
          onUnblock={onUnblock}
          blockedIds={new Set([bob.id])}
        />,
      );
      await userEvent.click(screen.getByRole('button', { name: 'Options for Bob Stone' }));
      await userEvent.click(screen.getByRole('menuitem', { name: 'Unblock' }));
      expect(onUnblock).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ id: bob.id }));
    });
  });
});
