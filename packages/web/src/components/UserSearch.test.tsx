import type { User } from '@parley/protocol';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { NewGroupDialog } from './dialogs.js';
import { recentPeople, UserSearch } from './UserSearch.js';

const alice = f.user({ username: 'abrown', display_name: 'Alice Brown' });
const bruno = f.user({ username: 'bruno', display_name: 'Bruno Costa' });
const carol = f.user({ username: 'carol', display_name: 'Carol Diaz' });
const found = [alice, bruno, carol];
const search = () => Promise.resolve(found);
const field = () => screen.getByRole('combobox', { name: 'Search users' });
/** The display name of the option the field points at. */
const active = () => {
  const id = field().getAttribute('aria-activedescendant');
  return id ? document.getElementById(id)?.querySelector('.user-result-name')?.textContent : null;
};

describe('UserSearch', () => {
  it('names each result by the display name it shows, with the @username as its description', async () => {
    render(<UserSearch search={search} onChoose={() => {}} />);
    await userEvent.type(field(), 'b');
    const list = await screen.findByRole('listbox', { name: 'People' });
    await within(list).findByRole('option', { name: 'Alice Brown' });
    expect(within(list).getAllByRole('option')).toHaveLength(3);
    for (const user of found) {
      within(list).getByRole('option', {
        name: user.display_name,
        description: `@${user.username}`,
      });
    }
    expect(within(list).getByRole('option', { name: 'Alice Brown', description: '@abrown' })).toBe(
      within(list).getAllByRole('option')[0],
    );
    // Never the username alone.
    expect(within(list).queryByRole('option', { name: 'abrown' })).toBeNull();
  });

  it('moves through results with ArrowDown/ArrowUp and chooses with Enter', async () => {
    const onChoose = vi.fn<(u: User) => void>();
    render(<UserSearch search={search} onChoose={onChoose} />);
    await userEvent.type(field(), 'b');
    await screen.findByRole('option', { name: 'Alice Brown' });
    // What was typed points at the first match.
    expect(active()).toBe('Alice Brown');
    await userEvent.keyboard('{ArrowDown}{ArrowDown}');
    expect(active()).toBe('Carol Diaz');
    expect(screen.getByRole('option', { name: 'Carol Diaz' }).getAttribute('aria-selected')).toBe(
      'true',
    );
    await userEvent.keyboard('{ArrowDown}');
    expect(active()).toBe('Alice Brown');
    await userEvent.keyboard('{ArrowUp}');
    expect(active()).toBe('Carol Diaz');
    await userEvent.keyboard('{ArrowUp}');
    expect(document.activeElement).toBe(field());
    await userEvent.keyboard('{Enter}');
    expect(onChoose).toHaveBeenCalledExactlyOnceWith(bruno);
  });

  it('offers the people of my chats, most recent first, before anything is typed', async () => {
    const me = f.me({ username: 'me' });
    const dave = f.user({ username: 'dave', display_name: 'Dave Evans' });
    // The chat list's order: newest activity first.
    const chats = [
      f.chat([me, carol]),
      f.chat([me, alice, carol, dave], { name: 'Team' }),
      f.chat([me, bruno]),
    ];
    const recent = recentPeople(chats, me.id);
    expect(recent.map((u) => u.username)).toEqual(['carol', 'abrown', 'dave', 'bruno']);

    const onChoose = vi.fn<(u: User) => void>();
    const searchFn = vi.fn(search);
    render(<UserSearch search={searchFn} suggestions={recent} onChoose={onChoose} />);
    const list = screen.getByRole('listbox', { name: 'People' });
    expect(
      within(list)
        .getAllByRole('option')
        .map((o) => o.querySelector('.user-result-name')?.textContent),
    ).toEqual(['Carol Diaz', 'Alice Brown', 'Dave Evans', 'Bruno Costa']);
    expect(screen.getByText('People you have chats with:')).toBeTruthy();
    // Reachable by keyboard too, without typing.
    await userEvent.click(field());
    await userEvent.keyboard('{ArrowDown}{ArrowDown}{Enter}');
    expect(onChoose).toHaveBeenCalledExactlyOnceWith(alice);
    expect(searchFn).not.toHaveBeenCalled();
  });

  it('in New group, Enter picks the active person and does not submit the form', async () => {
    const createGroup = vi.fn();
    render(
      <NewGroupDialog
        search={search}
        createGroup={createGroup}
        onDone={() => {}}
        onClose={() => {}}
      />,
    );
    await userEvent.type(screen.getByLabelText('Group name'), 'Climbing');
    await userEvent.type(field(), 'b');
    await screen.findByRole('option', { name: 'Alice Brown' });
    await userEvent.keyboard('{ArrowDown}{Enter}');
    expect(
      screen.getByRole('listbox', { name: 'People' }).getAttribute('aria-multiselectable'),
    ).toBe('true');
    expect(screen.getByRole('option', { name: 'Bruno Costa' }).getAttribute('aria-selected')).toBe(
      'true',
    );
    expect(screen.getByText('1 picked: Bruno Costa')).toBeTruthy();
    expect(createGroup).not.toHaveBeenCalled();
  });
});
