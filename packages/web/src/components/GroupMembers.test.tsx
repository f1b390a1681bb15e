import type { Chat, Role } from '@parley/protocol';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ComponentProps } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { ActionError } from '../client/errors.js';
import * as f from '../test/factories.js';
import { GroupMembersDialog } from './GroupMembers.js';

const now = new Date('2026-01-01T12:00:00.000Z');
const alice = f.me({ username: 'alice', display_name: 'Alice' });
const bob = f.user({ username: 'bob', display_name: 'Bob', status: 'online' });
const carol = f.user({
  username: 'carol',
  display_name: 'Carol',
  status: 'offline',
  last_seen_at: '2026-01-01T11:55:00.000Z',
});
const dan = f.user({ username: 'dan', display_name: 'Dan', status: null, last_seen_at: null });

/** A group of four where alice has `mine`, bob is admin, carol and dan are members. */
function team(mine: Role, change: (c: Chat) => void = () => {}): Chat {
  const chat = f.chat([alice, bob, carol, dan], { name: 'Team' });
  const roles: Role[] = [mine, 'admin', 'member', 'member'];
  if (mine !== 'owner') roles[3] = 'owner';
  chat.participants.forEach((p, i) => (p.role = roles[i]!));
  change(chat);
  return chat;
}

function props(chat: Chat, more: Partial<ComponentProps<typeof GroupMembersDialog>> = {}) {
  return {
    chat,
    meId: alice.id,
    title: 'Team',
    now,
    setRole: vi.fn<(userId: string, role: 'admin' | 'member') => Promise<void>>(() =>
      Promise.resolve(),
    ),
    remove: vi.fn<(userId: string) => Promise<void>>(() => Promise.resolve()),
    onClose: vi.fn(),
    ...more,
  };
}

const row = (username: string) =>
  screen
    .getAllByRole('listitem')
    .find((li) => li.textContent?.includes(`@${username}`)) as HTMLElement;
const buttonsOf = (username: string) =>
  within(row(username))
    .queryAllByRole('button')
    .map((b) => b.textContent);

describe('GroupMembersDialog', () => {
  it('lists everyone with name, handle, role and presence, the owner first', () => {
    render(<GroupMembersDialog {...props(team('member'))} />);
    const dialog = screen.getByRole('dialog', { name: 'Members of Team' });
    expect(within(dialog).getByText('4 members')).toBeTruthy();
    const list = within(dialog).getByRole('list', { name: 'Members' });
    const rows = within(list)
      .getAllByRole('listitem')
      .map((li) => li.querySelector('.member-names')?.textContent);
    expect(rows).toEqual([
      'Dan@danOwner',
      'Bob@bobAdminonline',
      'Alice (you)@alice',
      'Carol@carollast seen 5 min ago',
    ]);
  });

  it('gives the owner Make admin / Make member and Remove from group for everyone else', () => {
    render(<GroupMembersDialog {...props(team('owner'))} />);
    expect(buttonsOf('alice')).toEqual([]);
    expect(buttonsOf('bob')).toEqual(['Make member', 'Remove from group']);
    expect(buttonsOf('carol')).toEqual(['Make admin', 'Remove from group']);
    // Each button says whom it acts on, as its description.
    const makeAdmin = within(row('carol')).getByRole('button', { name: 'Make admin' });
    expect(makeAdmin.getAttribute('aria-describedby')).toBeTruthy();
    const described = document.getElementById(makeAdmin.getAttribute('aria-describedby')!);
    expect(described?.textContent).toBe('Carol');
  });

  it('gives an admin Remove from group for admins and members, never for the owner, and no roles', () => {
    render(
      <GroupMembersDialog {...props(team('admin', (c) => (c.participants[2]!.role = 'admin')))} />,
    );
    expect(buttonsOf('dan')).toEqual([]);
    expect(buttonsOf('bob')).toEqual(['Remove from group']);
    expect(buttonsOf('carol')).toEqual(['Remove from group']);
    expect(screen.queryByRole('button', { name: /^Make/ })).toBeNull();
  });

  it('gives a plain member no controls at all', () => {
    render(<GroupMembersDialog {...props(team('member'))} />);
    for (const name of ['Make admin', 'Make member', 'Remove from group']) {
      expect(screen.queryByRole('button', { name })).toBeNull();
    }
  });

  it('makes someone an admin, says so, and follows the chat the server sends back', async () => {
    const p = props(team('owner'));
    const { rerender } = render(<GroupMembersDialog {...p} />);
    await userEvent.click(within(row('carol')).getByRole('button', { name: 'Make admin' }));
    expect(p.setRole).toHaveBeenCalledExactlyOnceWith(carol.id, 'admin');
    expect(screen.getByRole('status').textContent).toBe('Carol is now an admin.');
    // chat:updated with the new role.
    rerender(
      <GroupMembersDialog
        {...p}
        chat={team('owner', (c) => (c.participants[2]!.role = 'admin'))}
      />,
    );
    expect(buttonsOf('carol')).toEqual(['Make member', 'Remove from group']);
    expect(within(row('carol')).getByText('Admin')).toBeTruthy();
  });

  it('asks before removing, with focus on Cancel, and Cancel goes back to the button', async () => {
    const p = props(team('owner'));
    const { rerender } = render(<GroupMembersDialog {...p} />);
    const removeCarol = within(row('carol')).getByRole('button', { name: 'Remove from group' });
    await userEvent.click(removeCarol);
    expect(within(row('carol')).getByText('Remove Carol (@carol) from the group?')).toBeTruthy();
    expect(document.activeElement?.textContent).toBe('Cancel');
    await userEvent.click(within(row('carol')).getByRole('button', { name: 'Cancel' }));
    expect(p.remove).not.toHaveBeenCalled();
    const again = within(row('carol')).getByRole('button', { name: 'Remove from group' });
    expect(document.activeElement).toBe(again);

    await userEvent.click(again);
    await userEvent.click(within(row('carol')).getByRole('button', { name: 'Remove' }));
    expect(p.remove).toHaveBeenCalledExactlyOnceWith(carol.id);
    expect(screen.getByRole('status').textContent).toBe('Carol was removed from the group.');
    expect(document.activeElement).toBe(screen.getByRole('list', { name: 'Members' }));
    rerender(
      <GroupMembersDialog {...p} chat={team('owner', (c) => c.participants.splice(2, 1))} />,
    );
    expect(screen.queryByText('@carol')).toBeNull();
    expect(screen.getByText('3 members')).toBeTruthy();
  });

  it('says a refusal in words and keeps the person listed', async () => {
    const remove = vi
      .fn<(userId: string) => Promise<void>>()
      .mockRejectedValue(new ActionError('Only an owner or admin can do this.'));
    render(<GroupMembersDialog {...props(team('admin'), { remove })} />);
    await userEvent.click(within(row('carol')).getByRole('button', { name: 'Remove from group' }));
    await userEvent.click(within(row('carol')).getByRole('button', { name: 'Remove' }));
    expect(screen.getByRole('alert').textContent).toBe(
      'Could not remove Carol: Only an owner or admin can do this.',
    );
    expect(row('carol')).toBeTruthy();
  });

  it('follows changes others make: a newcomer appears, and losing admin takes the controls away', () => {
    const erin = f.user({ username: 'erin', display_name: 'Erin' });
    const p = props(team('admin'));
    const { rerender } = render(<GroupMembersDialog {...p} />);
    expect(buttonsOf('carol')).toEqual(['Remove from group']);
    const changed = team('member', (c) => c.participants.push(f.participant(erin)));
    rerender(<GroupMembersDialog {...p} chat={changed} />);
    expect(row('erin')).toBeTruthy();
    expect(screen.getByText('5 members')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Remove from group' })).toBeNull();
  });
});
