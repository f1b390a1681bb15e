import type { Chat } from '@parley/protocol';
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
});
