import type { Chat, User } from '@parley/protocol';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useCallback, useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import * as f from '../test/factories.js';
import { BlockDialog, BlockedUsers, NewChatDialog, NewGroupDialog } from './dialogs.js';

const bob = f.user({ username: 'bob', display_name: 'Bob Stone' });
const bobby = f.user({ username: 'bobby', display_name: 'Bobby' });
const people = [bob, bobby];
/** The directory the dialogs search: a plain prefix match over a fixed list. */
const search = (q: string) =>
  Promise.resolve(people.filter((u) => u.username.startsWith(q.toLowerCase())));

describe('NewChatDialog', () => {
  it('lists matches as options named by display name, and opens the one chosen', async () => {
    const chat = f.chat([f.me(), bob]);
    const openDirect = vi.fn<(id: string) => Promise<Chat>>().mockResolvedValue(chat);
    const onDone = vi.fn<(c: Chat) => void>();
    render(
      <NewChatDialog search={search} openDirect={openDirect} onDone={onDone} onClose={() => {}} />,
    );
    expect(screen.getByRole('dialog', { name: 'New chat' })).toBeTruthy();
    await userEvent.type(screen.getByLabelText('Search users'), 'bo');
    await userEvent.click(await screen.findByRole('option', { name: 'Bobby' }));
    expect(openDirect).toHaveBeenCalledExactlyOnceWith(bobby.id);
    expect(onDone).toHaveBeenCalledExactlyOnceWith(chat);
  });
});

describe('NewChatDialog refusals', () => {
  it('closes on Escape even once focus has left it (a disabled button drops focus)', async () => {
    const onClose = vi.fn();
    render(
      <NewChatDialog search={search} openDirect={vi.fn()} onDone={() => {}} onClose={onClose} />,
    );
    (document.activeElement as HTMLElement | null)?.blur();
    expect(document.activeElement).toBe(document.body);
    await userEvent.keyboard('{Escape}');
    expect(onClose).toHaveBeenCalledOnce();
  });

  it('says why in words: a block, or the hourly limit', async () => {
    const openDirect = vi
      .fn<(id: string) => Promise<Chat>>()
      .mockRejectedValueOnce(
        new ApiError(403, 'forbidden', 'this person does not accept chats from you'),
      )
      .mockRejectedValueOnce(new ApiError(429, 'rate_limited', 'too many requests, slow down'));
    render(
      <NewChatDialog
        search={search}
        openDirect={openDirect}
        onDone={() => {}}
        onClose={() => {}}
      />,
    );
    await userEvent.type(screen.getByLabelText('Search users'), 'bob');
    await userEvent.click(await screen.findByRole('option', { name: 'Bob Stone' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'This person does not accept chats from you.',
    );
    await userEvent.click(screen.getByRole('option', { name: 'Bob Stone' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/many chats in the last hour/);
  });

  it('shows each result with its handle, and a presence dot only where presence is shown', async () => {
    const stranger = f.user({ username: 'bobcat', display_name: 'Bob Stone', status: null });
    const contact = f.user({ username: 'bob', display_name: 'Bob Stone', status: 'online' });
    render(
      <NewChatDialog
        search={() => Promise.resolve([contact, stranger])}
        openDirect={vi.fn()}
        onDone={() => {}}
        onClose={() => {}}
      />,
    );
    await userEvent.type(screen.getByLabelText('Search users'), 'bob');
    const real = await screen.findByRole('option', { name: 'Bob Stone', description: '@bob' });
    const lookalike = screen.getByRole('option', { name: 'Bob Stone', description: '@bobcat' });
    expect(within(real).getByText('@bob')).toBeTruthy();
    expect(within(lookalike).getByText('@bobcat')).toBeTruthy();
    expect(real.querySelector('.presence-dot.online')).not.toBeNull();
    expect(lookalike.querySelector('.presence-dot')).toBeNull();
  });
});

describe('NewGroupDialog', () => {
  it('toggles people and creates the group with its name', async () => {
    const createGroup = vi
      .fn<(name: string, ids: string[]) => Promise<Chat>>()
      .mockImplementation((name: string) => Promise.resolve(f.chat([f.me(), bob], { name })));
    render(
      <NewGroupDialog
        search={search}
        createGroup={createGroup}
        onDone={() => {}}
        onClose={() => {}}
      />,
    );
    await userEvent.type(screen.getByLabelText('Group name'), 'Climbing');
    await userEvent.type(screen.getByLabelText('Search users'), 'bob');
    const toggle = await screen.findByRole('option', { name: 'Bob Stone' });
    expect(toggle.getAttribute('aria-selected')).toBe('false');
    await userEvent.click(toggle);
    expect(toggle.getAttribute('aria-selected')).toBe('true');

    // A picked person stays listed (and selected) when the search moves on.
    await userEvent.clear(screen.getByLabelText('Search users'));
    await userEvent.type(screen.getByLabelText('Search users'), 'bobb');
    expect(
      (await screen.findByRole('option', { name: 'Bobby' })).getAttribute('aria-selected'),
    ).toBe('false');
    expect(screen.getByRole('option', { name: 'Bob Stone' }).getAttribute('aria-selected')).toBe(
      'true',
    );

    await userEvent.click(screen.getByRole('button', { name: 'Create group' }));
    expect(createGroup).toHaveBeenCalledExactlyOnceWith('Climbing', [bob.id]);
  });

  it('asks for a name before creating', async () => {
    const createGroup = vi.fn<(name: string, ids: string[]) => Promise<Chat>>();
    render(
      <NewGroupDialog
        search={search}
        createGroup={createGroup}
        onDone={() => {}}
        onClose={() => {}}
      />,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Create group' }));
    expect(screen.getByRole('alert').textContent).toBe('Give the group a name.');
    expect(createGroup).not.toHaveBeenCalled();
  });
});

describe('BlockDialog', () => {
  it('asks first, says what blocking does, and blocks on confirmation', async () => {
    const block = vi.fn<(u: User) => Promise<void>>().mockResolvedValue();
    const onDone = vi.fn();
    render(<BlockDialog user={bob} block={block} onDone={onDone} onClose={() => {}} />);
    const dialog = screen.getByRole('dialog', { name: 'Block Bob Stone?' });
    expect(dialog.textContent).toMatch(
      /Bob Stone \(@bob\) will not be able to write to you in your direct chat, start a chat/,
    );
    expect(block).not.toHaveBeenCalled();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Block' }));
    expect(block).toHaveBeenCalledExactlyOnceWith(bob);
    expect(onDone).toHaveBeenCalledOnce();
  });

  it('closes without blocking on Cancel', async () => {
    const block = vi.fn<(u: User) => Promise<void>>();
    const onClose = vi.fn();
    render(<BlockDialog user={bob} block={block} onDone={() => {}} onClose={onClose} />);
    await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(onClose).toHaveBeenCalledOnce();
    expect(block).not.toHaveBeenCalled();
  });
});

describe('BlockedUsers', () => {
  /** The list over a list that unblocking shrinks, as the client's state does. */
  function Harness({ unblock }: { unblock: (id: string) => Promise<void> }) {
    const [blocked, setBlocked] = useState<User[] | null>(null);
    const load = useCallback(() => Promise.resolve(setBlocked(people)), []);
    return (
      <BlockedUsers
        blocked={blocked}
        load={load}
        unblock={async (id) => {
          await unblock(id);
          setBlocked((list) => (list ?? []).filter((u) => u.id !== id));
        }}
      />
    );
  }

  it('loads the blocked people, with handles, and unblocks one', async () => {
    const unblock = vi.fn<(id: string) => Promise<void>>().mockResolvedValue();
    render(<Harness unblock={unblock} />);
    const list = await screen.findByRole('list', { name: 'Blocked users' });
    expect(
      within(list)
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['Bob Stone@bobUnblock', 'Bobby@bobbyUnblock']);
    await userEvent.click(screen.getByRole('button', { name: 'Unblock bob' }));
    expect(unblock).toHaveBeenCalledExactlyOnceWith(bob.id);
    await waitFor(() => expect(within(list).getAllByRole('listitem')).toHaveLength(1));
    await userEvent.click(screen.getByRole('button', { name: 'Unblock bobby' }));
    expect(await screen.findByText('You have not blocked anyone.')).toBeTruthy();
  });
});
