import type { Chat, Role } from '@parley/protocol';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ActionError } from '../client/errors.js';
import * as f from '../test/factories.js';
import { LeaveChatDialog, RenameGroupDialog } from './GroupDialogs.js';

const alice = f.me({ username: 'alice', display_name: 'Alice' });
const bob = f.user({ username: 'bob', display_name: 'Bob' });
const carol = f.user({ username: 'carol', display_name: 'Carol' });
const dan = f.user({ username: 'dan', display_name: 'Dan' });

function renameSetup(rename = vi.fn<(name: string) => Promise<void>>(() => Promise.resolve())) {
  const onDone = vi.fn();
  const chat = f.chat([alice, bob, carol], { name: 'Team' });
  render(<RenameGroupDialog chat={chat} rename={rename} onDone={onDone} onClose={() => {}} />);
  const field = screen.getByLabelText('Group name');
  const save = () => userEvent.click(screen.getByRole('button', { name: 'Save' }));
  return { rename, onDone, field, save };
}

describe('RenameGroupDialog', () => {
  it('opens on the name, in the field, and saves the new one trimmed', async () => {
    const { rename, onDone, field, save } = renameSetup();
    expect(screen.getByRole('dialog', { name: 'Rename group' })).toBeTruthy();
    expect(field).toHaveProperty('value', 'Team');
    expect(document.activeElement).toBe(field);
    await userEvent.clear(field);
    await userEvent.type(field, '  Road trip  ');
    await save();
    expect(rename).toHaveBeenCalledExactlyOnceWith('Road trip');
    expect(onDone).toHaveBeenCalledOnce();
  });

  it('says at the field what the server would refuse, and sends nothing', async () => {
    const { rename, field, save } = renameSetup();
    await userEvent.clear(field);
    await save();
    expect(screen.getByRole('alert').textContent).toBe('Give the group a name.');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(field.getAttribute('aria-describedby')).toContain(screen.getByRole('alert').id);

    await userEvent.paste('x'.repeat(101));
    await save();
    expect(screen.getByRole('alert').textContent).toBe(
      'A group name can be at most 100 characters; this one has 101.',
    );
    await userEvent.clear(field);
    await userEvent.type(field, '\u202egnp.exe');
    await save();
    expect(screen.getByRole('alert').textContent).toMatch(/reorder text/);
    expect(rename).not.toHaveBeenCalled();
  });

  it('counts characters as people do: 100 emoji are a valid name', async () => {
    const { rename, field, save } = renameSetup();
    await userEvent.clear(field);
    // Each is two UTF-16 units: a length check in units would refuse it.
    const name = '🚗'.repeat(100);
    await userEvent.click(field);
    await userEvent.paste(name);
    await save();
    expect(rename).toHaveBeenCalledExactlyOnceWith(name);
  });

  it('closes without a request when the name did not change', async () => {
    const { rename, onDone, save } = renameSetup();
    await save();
    expect(rename).not.toHaveBeenCalled();
    expect(onDone).toHaveBeenCalledOnce();
  });

  it('says a refusal in words and stays open', async () => {
    const refused = vi
      .fn<(name: string) => Promise<void>>()
      .mockRejectedValue(new ActionError('Only an owner or admin can do this.'));
    const { onDone, field, save } = renameSetup(refused);
    await userEvent.type(field, ' 2');
    await save();
    expect(screen.getByRole('alert').textContent).toBe(
      'Could not rename the group: Only an owner or admin can do this.',
    );
    expect(onDone).not.toHaveBeenCalled();
  });
});

/** alice with `mine`; the others joined in the order given, with their roles. */
function group(mine: Role, others: [typeof bob, Role][]): Chat {
  const chat = f.chat([alice, ...others.map(([u]) => u)], { name: 'Team' });
  chat.participants[0]!.role = mine;
  others.forEach(([, role], i) => {
    const p = chat.participants[i + 1]!;
    p.role = role;
    p.joined_at = new Date(Date.UTC(2026, 0, 1, 10, i + 1)).toISOString();
  });
  return chat;
}

function leaveSetup(chat: Chat, leave = vi.fn<() => Promise<void>>(() => Promise.resolve())) {
  const onDone = vi.fn();
  render(
    <LeaveChatDialog
      chat={chat}
      meId={alice.id}
      title="Team"
      leave={leave}
      onDone={onDone}
      onClose={() => {}}
    />,
  );
  const dialog = screen.getByRole('dialog', { name: 'Leave “Team”?' });
  return { leave, onDone, dialog };
}

describe('LeaveChatDialog', () => {
  it('says what leaving does, and leaves on confirmation', async () => {
    const { leave, onDone, dialog } = leaveSetup(
      group('member', [
        [bob, 'owner'],
        [carol, 'member'],
      ]),
    );
    expect(dialog.textContent).toMatch(/leaves your chat list/);
    expect(dialog.textContent).not.toMatch(/You own this group/);
    await userEvent.click(screen.getByRole('button', { name: 'Leave group' }));
    expect(leave).toHaveBeenCalledOnce();
    expect(onDone).toHaveBeenCalledOnce();
  });

  it('tells an owner the group passes to the longest-standing admin', () => {
    const { dialog } = leaveSetup(
      group('owner', [
        [bob, 'member'],
        [carol, 'admin'],
        [dan, 'admin'],
      ]),
    );
    expect(dialog.textContent).toContain(
      'When you leave, it passes to Carol (@carol), its longest-standing admin, who becomes its owner.',
    );
  });

  it('tells an owner without admins the group passes to the longest-standing member', () => {
    const { dialog } = leaveSetup(
      group('owner', [
        [dan, 'member'],
        [bob, 'member'],
      ]),
    );
    expect(dialog.textContent).toContain(
      'it passes to Dan (@dan), its longest-standing member (there is no admin)',
    );
  });

  it('tells a lone owner that nobody can open the group again', () => {
    const { dialog } = leaveSetup(group('owner', []));
    expect(dialog.textContent).toContain('You are the only one left in this group');
  });

  it('in a direct chat, says how it comes back and leaves it on confirmation', async () => {
    const { leave, onDone, dialog } = leaveSetup(
      f.chat([alice, bob], { type: 'direct', name: null }),
    );
    expect(dialog.textContent).toContain('Team sees a line saying you left.');
    expect(dialog.textContent).toMatch(/Starting a chat with them again.*brings it back/);
    expect(dialog.textContent).not.toMatch(/owner or admin/);
    await userEvent.click(screen.getByRole('button', { name: 'Leave chat' }));
    expect(leave).toHaveBeenCalledOnce();
    expect(onDone).toHaveBeenCalledOnce();
  });

  it('in a direct chat the other person left, says nothing of a line for them', () => {
    const alone = f.chat([alice, bob], { type: 'direct', name: null });
    const { dialog } = leaveSetup({ ...alone, participants: alone.participants.slice(0, 1) });
    expect(dialog.textContent).not.toMatch(/sees a line/);
    expect(dialog.textContent).toMatch(/brings it back with its history/);
  });

  it('says a failure in words and stays', async () => {
    const leave = vi
      .fn<() => Promise<void>>()
      .mockRejectedValue(new ActionError('Cannot reach the server. Check your connection.'));
    const { onDone } = leaveSetup(group('member', [[bob, 'owner']]), leave);
    await userEvent.click(screen.getByRole('button', { name: 'Leave group' }));
    expect(screen.getByRole('alert').textContent).toBe(
      'Could not leave the group: Cannot reach the server. Check your connection.',
    );
    expect(onDone).not.toHaveBeenCalled();
  });
});
