import type { Chat } from '@parley/protocol';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { NewChatDialog, NewGroupDialog } from './dialogs.js';

const bob = f.user({ username: 'bob', display_name: 'Bob Stone' });
const bobby = f.user({ username: 'bobby', display_name: 'Bobby' });
const people = [bob, bobby];
/** The directory the dialogs search: a plain prefix match over a fixed list. */
const search = (q: string) =>
  Promise.resolve(people.filter((u) => u.username.startsWith(q.toLowerCase())));

describe('NewChatDialog', () => {
  it('lists matches as buttons named by username, and opens the one chosen', async () => {
    const chat = f.chat([f.me(), bob]);
    const openDirect = vi.fn<(id: string) => Promise<Chat>>().mockResolvedValue(chat);
    const onDone = vi.fn<(c: Chat) => void>();
    render(
      <NewChatDialog search={search} openDirect={openDirect} onDone={onDone} onClose={() => {}} />,
    );
    expect(screen.getByRole('dialog', { name: 'New chat' })).toBeTruthy();
    await userEvent.type(screen.getByLabelText('Search users'), 'bo');
    await userEvent.click(await screen.findByRole('button', { name: 'bobby' }));
    expect(openDirect).toHaveBeenCalledExactlyOnceWith(bobby.id);
    expect(onDone).toHaveBeenCalledExactlyOnceWith(chat);
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
    const toggle = await screen.findByRole('button', { name: 'bob' });
    expect(toggle.getAttribute('aria-pressed')).toBe('false');
    await userEvent.click(toggle);
    expect(toggle.getAttribute('aria-pressed')).toBe('true');

    // A picked person stays listed (and pressed) when the search moves on.
    await userEvent.clear(screen.getByLabelText('Search users'));
    await userEvent.type(screen.getByLabelText('Search users'), 'bobb');
    expect(
      (await screen.findByRole('button', { name: 'bobby' })).getAttribute('aria-pressed'),
    ).toBe('false');
    expect(screen.getByRole('button', { name: 'bob' }).getAttribute('aria-pressed')).toBe('true');

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
