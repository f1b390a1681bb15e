import type { Chat, Message } from '@parley/protocol';
import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ComponentProps } from 'react';
import { describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import type { MessageActions } from './messageActions.js';
import { MessageList } from './MessageList.js';

const alice = f.me({ username: 'alice', display_name: 'Alice' });
const bob = f.user({ username: 'bob', display_name: 'Bob' });
const carol = f.user({ username: 'carol', display_name: 'Carol' });

function fakeActions() {
  return {
    edit: vi.fn<MessageActions['edit']>().mockResolvedValue(undefined),
    remove: vi.fn<MessageActions['remove']>().mockResolvedValue(undefined),
    react: vi.fn<MessageActions['react']>().mockResolvedValue(undefined),
    loadEdits: vi.fn<MessageActions['loadEdits']>().mockResolvedValue([]),
    showMessage: vi.fn<MessageActions['showMessage']>(),
    clearFocus: vi.fn<MessageActions['clearFocus']>(),
    fetchAttachment: vi.fn<MessageActions['fetchAttachment']>(),
  };
}

function show(
  chat: Chat,
  messages: Message[],
  more: Partial<ComponentProps<typeof MessageList>> = {},
) {
  const actions = fakeActions();
  const onReply = vi.fn<(m: Message) => void>();
  const props: ComponentProps<typeof MessageList> = {
    chat,
    meId: alice.id,
    messages,
    outgoing: [],
    hasMore: false,
    loading: false,
    error: null,
    now: new Date('2026-01-01T12:00:00.000Z'),
    onLoadOlder: () => {},
    onRetry: () => {},
    actions,
    onReply,
    ...more,
  };
  const view = render(<MessageList {...props} />);
  const items = () =>
    within(screen.getByRole('list', { name: 'Messages' })).getAllByRole('listitem');
  const rerender = (change: Partial<ComponentProps<typeof MessageList>>) =>
    view.rerender(<MessageList {...props} {...change} />);
  return { actions, onReply, items, rerender };
}

async function openMenu(item: HTMLElement) {
  await userEvent.click(within(item).getByRole('button', { name: 'Message actions' }));
  return screen.getByRole('menu');
}

const itemNames = (menu: HTMLElement) =>
  within(menu)
    .getAllByRole('menuitem')
    .map((el) => el.textContent);

describe('Message menu', () => {
  it('offers Edit and Delete on my messages, Reply and React on everyone’s', async () => {
    const chat = f.chat([alice, bob]);
    const { items } = show(chat, [f.message(chat, bob, 1), f.message(chat, alice, 2)]);
    expect(itemNames(await openMenu(items()[0]!))).toEqual(['Reply', 'React']);
    await userEvent.keyboard('{Escape}');
    expect(itemNames(await openMenu(items()[1]!))).toEqual(['Reply', 'React', 'Edit', 'Delete']);
  });

  it("lets a group's owner or admin delete others' messages, not a member", async () => {
    const team = f.chat([alice, bob, carol], { name: 'Team' });
    const asRole = (role: 'owner' | 'admin' | 'member'): Chat => ({
      ...team,
      participants: team.participants.map((p) => (p.id === alice.id ? { ...p, role } : p)),
    });
    const message = f.message(team, bob, 1);
    const { items, rerender } = show(asRole('member'), [message]);
    expect(itemNames(await openMenu(items()[0]!))).not.toContain('Delete');
    await userEvent.keyboard('{Escape}');
    rerender({ chat: asRole('admin') });
    expect(itemNames(await openMenu(items()[0]!))).toContain('Delete');
    await userEvent.keyboard('{Escape}');
    rerender({ chat: asRole('owner') });
    expect(itemNames(await openMenu(items()[0]!))).toContain('Delete');
  });

  it('moves with the arrow keys, and Escape closes it and returns focus to the button', async () => {
    const chat = f.chat([alice, bob]);
    const { items } = show(chat, [f.message(chat, alice, 1)]);
    const button = within(items()[0]!).getByRole('button', { name: 'Message actions' });
    button.focus();
    await userEvent.keyboard('{ArrowDown}');
    const menu = screen.getByRole('menu');
    expect(button.getAttribute('aria-expanded')).toBe('true');
    expect(document.activeElement?.textContent).toBe('Reply');
    await userEvent.keyboard('{ArrowDown}{ArrowDown}');
    expect(document.activeElement?.textContent).toBe('Edit');
    await userEvent.keyboard('{End}');
    expect(document.activeElement?.textContent).toBe('Delete');
    await userEvent.keyboard('{ArrowDown}');
    expect(document.activeElement?.textContent).toBe('Reply');
    await userEvent.keyboard('{ArrowUp}');
    expect(document.activeElement?.textContent).toBe('Delete');
    await userEvent.keyboard('{Escape}');
    expect(menu.isConnected).toBe(false);
    expect(document.activeElement).toBe(button);
    expect(button.getAttribute('aria-expanded')).toBe('false');
  });

  it('offers no menu on a deleted message, which reads "Message deleted"', () => {
    const chat = f.chat([alice, bob]);
    const gone = { ...f.message(chat, bob, 1, ''), deleted_at: '2026-01-01T10:05:00.000Z' };
    const { items } = show(chat, [gone]);
    expect(within(items()[0]!).getByText('Message deleted')).toBeTruthy();
    expect(within(items()[0]!).queryByRole('button', { name: 'Message actions' })).toBeNull();
  });

  it('passes Reply the message', async () => {
    const chat = f.chat([alice, bob]);
    const message = f.message(chat, bob, 1);
    const { items, onReply } = show(chat, [message]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Reply' }));
    expect(onReply).toHaveBeenCalledExactlyOnceWith(message);
  });
});

describe('Inline edit', () => {
  it('saves with Enter, breaks lines with Shift+Enter, and closes once saved', async () => {
    const chat = f.chat([alice, bob]);
    const message = f.message(chat, alice, 1, 'helo');
    const { items, actions } = show(chat, [message]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Edit' }));
    const box = screen.getByRole('textbox', { name: 'Edit message' });
    expect(document.activeElement).toBe(box);
    await userEvent.clear(box);
    await userEvent.type(box, 'hello{Shift>}{Enter}{/Shift}world{Enter}');
    expect(actions.edit).toHaveBeenCalledExactlyOnceWith(message.id, 'hello\nworld');
    expect(screen.queryByRole('textbox', { name: 'Edit message' })).toBeNull();
    // Focus goes back to the message's menu button.
    expect(document.activeElement).toBe(
      within(items()[0]!).getByRole('button', { name: 'Message actions' }),
    );
  });

  it('cancels with Escape, sending nothing', async () => {
    const chat = f.chat([alice, bob]);
    const { items, actions } = show(chat, [f.message(chat, alice, 1, 'as it was')]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Edit' }));
    await userEvent.type(screen.getByRole('textbox', { name: 'Edit message' }), ' or not{Escape}');
    expect(actions.edit).not.toHaveBeenCalled();
    expect(screen.queryByRole('textbox', { name: 'Edit message' })).toBeNull();
    expect(within(items()[0]!).getByText('as it was')).toBeTruthy();
  });

  it('says in words why an edit was refused, and keeps the text', async () => {
    const chat = f.chat([alice, bob]);
    const { items, actions } = show(chat, [f.message(chat, alice, 1, 'old')]);
    actions.edit.mockRejectedValue(
      new Error('Messages can be edited for 15 minutes after sending.'),
    );
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Edit' }));
    const box = screen.getByRole('textbox', { name: 'Edit message' });
    await userEvent.type(box, ' new{Enter}');
    expect(screen.getByRole('alert').textContent).toBe(
      'Not saved. Messages can be edited for 15 minutes after sending.',
    );
    expect(box).toHaveProperty('value', 'old new');
  });

  it('refuses an empty edit without asking the server', async () => {
    const chat = f.chat([alice, bob]);
    const { items, actions } = show(chat, [f.message(chat, alice, 1, 'old')]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Edit' }));
    await userEvent.clear(screen.getByRole('textbox', { name: 'Edit message' }));
    await userEvent.keyboard('{Enter}');
    expect(actions.edit).not.toHaveBeenCalled();
    expect(screen.getByRole('alert').textContent).toMatch(/cannot be empty/);
  });

  it('lets a message with a file be edited to say nothing, as it could have been sent', async () => {
    const chat = f.chat([alice, bob]);
    const message = {
      ...f.message(chat, alice, 1, 'the report'),
      message_type: 'file' as const,
      attachments: [
        {
          id: '6c1f8b3d-75d7-4b54-8e1f-1d2f7f2f2d33',
          name: 'report.pdf',
          size: 48 * 1024,
          mime: 'application/pdf',
          kind: 'file' as const,
          width: null,
          height: null,
          url: '/api/uploads/6c1f8b3d-75d7-4b54-8e1f-1d2f7f2f2d33?exp=1&sig=c',
          thumbnail_url: null,
        },
      ],
    };
    const { items, actions } = show(chat, [message]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Edit' }));
    await userEvent.clear(screen.getByRole('textbox', { name: 'Edit message' }));
    await userEvent.keyboard('{Enter}');
    expect(actions.edit).toHaveBeenCalledExactlyOnceWith(message.id, '');
  });

  it('marks an edited message "edited" and shows its earlier versions on demand', async () => {
    const chat = f.chat([alice, bob]);
    const edited = { ...f.message(chat, bob, 1, 'new words'), edited_at: '2026-01-01T10:03:00Z' };
    const { items, actions } = show(chat, [edited]);
    actions.loadEdits.mockResolvedValue([
      { content: 'first words', edited_at: '2026-01-01T10:02:00.000Z' },
    ]);
    const marker = within(items()[0]!).getByRole('button', { name: 'edited' });
    expect(actions.loadEdits).not.toHaveBeenCalled();
    await userEvent.click(marker);
    expect(actions.loadEdits).toHaveBeenCalledExactlyOnceWith(edited.id);
    const versions = await screen.findByRole('list', { name: 'Earlier versions' });
    expect(within(versions).getByText('first words')).toBeTruthy();
    expect(marker.getAttribute('aria-expanded')).toBe('true');
  });
});

describe('Delete', () => {
  it('asks first, and deletes with "Delete message"', async () => {
    const chat = f.chat([alice, bob]);
    const message = f.message(chat, alice, 1);
    const { items, actions } = show(chat, [message]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Delete' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete message?' });
    expect(actions.remove).not.toHaveBeenCalled();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete message' }));
    expect(actions.remove).toHaveBeenCalledExactlyOnceWith(message.id);
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('deletes nothing on Cancel', async () => {
    const chat = f.chat([alice, bob]);
    const { items, actions } = show(chat, [f.message(chat, alice, 1)]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Delete' }));
    await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(actions.remove).not.toHaveBeenCalled();
  });

  it('keeps focus on the message once mine is deleted', async () => {
    const chat = f.chat([alice, bob]);
    const message = f.message(chat, alice, 1);
    const { items, rerender } = show(chat, [message]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Delete' }));
    await userEvent.click(screen.getByRole('button', { name: 'Delete message' }));
    rerender({ messages: [{ ...message, content: '', deleted_at: '2026-01-01T10:02:00.000Z' }] });
    expect(within(items()[0]!).getByText('Message deleted')).toBeTruthy();
    expect(document.activeElement).toBe(items()[0]);
  });

  it('closes an open edit box when the message is deleted meanwhile', async () => {
    const chat = f.chat([alice, bob], { name: 'Team' });
    const message = f.message(chat, alice, 1, 'draft');
    const { items, rerender } = show(chat, [message]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Edit' }));
    expect(screen.getByRole('textbox', { name: 'Edit message' })).toBeTruthy();
    rerender({ messages: [{ ...message, content: '', deleted_at: '2026-01-01T10:02:00.000Z' }] });
    expect(screen.queryByRole('textbox', { name: 'Edit message' })).toBeNull();
    expect(within(items()[0]!).getByText('Message deleted')).toBeTruthy();
    expect(document.activeElement).toBe(items()[0]);
  });

  it('keeps the dialog open and says why when the delete is refused', async () => {
    const chat = f.chat([alice, bob]);
    const { items, actions } = show(chat, [f.message(chat, alice, 1)]);
    actions.remove.mockRejectedValue(new Error('You are offline.'));
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Delete' }));
    await userEvent.click(screen.getByRole('button', { name: 'Delete message' }));
    expect(screen.getByRole('alert').textContent).toBe('Not deleted. You are offline.');
    expect(screen.getByRole('dialog')).toBeTruthy();
  });
});

describe('Reactions', () => {
  const reacted = (chat: Chat): Message => ({
    ...f.message(chat, bob, 1),
    reactions: [
      { emoji: '👍', count: 2, user_ids: [bob.id, alice.id] },
      { emoji: '🎉', count: 1, user_ids: [bob.id] },
    ],
  });

  it('shows a chip per emoji with its count, pressed where one is mine', () => {
    const chat = f.chat([alice, bob]);
    show(chat, [reacted(chat)]);
    const mine = screen.getByRole('button', { name: '👍 2' });
    const theirs = screen.getByRole('button', { name: '🎉 1' });
    expect(mine.getAttribute('aria-pressed')).toBe('true');
    expect(theirs.getAttribute('aria-pressed')).toBe('false');
    expect(mine.title).toBe('Bob, You');
  });

  it('toggles: a click on mine removes it, on another adds mine', async () => {
    const chat = f.chat([alice, bob]);
    const message = reacted(chat);
    const { actions } = show(chat, [message]);
    await userEvent.click(screen.getByRole('button', { name: '👍 2' }));
    expect(actions.react).toHaveBeenLastCalledWith(message.id, '👍', 'remove');
    await userEvent.click(screen.getByRole('button', { name: '🎉 1' }));
    expect(actions.react).toHaveBeenLastCalledWith(message.id, '🎉', 'add');
  });

  it('says so when a reaction is refused', async () => {
    const chat = f.chat([alice, bob]);
    const { actions } = show(chat, [reacted(chat)]);
    actions.react.mockRejectedValue(new Error('A message holds at most 20 different emoji.'));
    await userEvent.click(screen.getByRole('button', { name: '🎉 1' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Could not add the reaction. A message holds at most 20 different emoji.',
    );
  });

  it('React opens the picker; a common emoji adds it and closes it', async () => {
    const chat = f.chat([alice, bob]);
    const message = f.message(chat, bob, 1);
    const { items, actions } = show(chat, [message]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'React' }));
    const picker = screen.getByRole('dialog', { name: 'Add a reaction' });
    expect(document.activeElement).toBe(
      within(picker).getByRole('searchbox', { name: 'Search emoji' }),
    );
    await userEvent.click(within(picker).getByRole('button', { name: '🎉' }));
    expect(actions.react).toHaveBeenCalledExactlyOnceWith(message.id, '🎉', 'add');
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('Escape closes the picker and returns focus to the menu button', async () => {
    const chat = f.chat([alice, bob]);
    const { items, actions } = show(chat, [f.message(chat, bob, 1)]);
    await openMenu(items()[0]!);
    await userEvent.click(screen.getByRole('menuitem', { name: 'React' }));
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(
      within(items()[0]!).getByRole('button', { name: 'Message actions' }),
    );
    expect(actions.react).not.toHaveBeenCalled();
  });
});

describe('Replies and mentions', () => {
  it('quotes the answered message; a click asks to show it', async () => {
    const chat = f.chat([alice, bob]);
    const answered = f.message(chat, bob, 1, 'first line\nsecond line');
    const reply: Message = {
      ...f.message(chat, alice, 2, 'my answer'),
      reply_to: {
        id: answered.id,
        seq: 1,
        sender_id: bob.id,
        content: answered.content,
        deleted: false,
      },
    };
    const { actions } = show(chat, [answered, reply]);
    const quote = screen.getByRole('button', { name: 'Reply to Bob' });
    expect(quote.textContent).toContain('first line');
    expect(quote.textContent).not.toContain('second line');
    await userEvent.click(quote);
    expect(actions.showMessage).toHaveBeenCalledExactlyOnceWith(answered.id);
  });

  it('quotes a deleted message as "Message deleted"', () => {
    const chat = f.chat([alice, bob]);
    const reply: Message = {
      ...f.message(chat, alice, 5),
      reply_to: { id: f.user().id, seq: 1, sender_id: bob.id, content: '', deleted: true },
    };
    show(chat, [reply]);
    expect(screen.getByRole('button', { name: 'Reply to Bob' }).textContent).toContain(
      'Message deleted',
    );
  });

  it('scrolls to the focused message, highlights it for a moment, then clears the focus', () => {
    vi.useFakeTimers();
    const scrolled = vi.fn();
    // jsdom lays nothing out and has no scrollIntoView: record the call instead.
    Object.defineProperty(Element.prototype, 'scrollIntoView', {
      configurable: true,
      value: scrolled,
    });
    try {
      const chat = f.chat([alice, bob]);
      const target = f.message(chat, bob, 1);
      const { items, actions } = show(chat, [target, f.message(chat, bob, 2)], {
        focus: { messageId: target.id, nonce: 1 },
      });
      expect(scrolled).toHaveBeenCalledOnce();
      expect(items()[0]!.classList.contains('highlight')).toBe(true);
      expect(document.activeElement).toBe(items()[0]);
      expect(actions.clearFocus).toHaveBeenCalledOnce();
      act(() => {
        vi.advanceTimersByTime(2_500);
      });
      expect(items()[0]!.classList.contains('highlight')).toBe(false);
    } finally {
      vi.useRealTimers();
      Reflect.deleteProperty(Element.prototype, 'scrollIntoView');
    }
  });

  it('highlights mentions of me, and only mine', () => {
    const chat = f.chat([alice, bob, carol], { name: 'Team' });
    const message = {
      ...f.message(chat, bob, 1, 'hey @Alice and @carol, see @alice.'),
      mentions: [alice.id, carol.id],
    };
    const { items } = show(chat, [message]);
    const marks = items()[0]!.querySelectorAll('mark');
    expect([...marks].map((m) => m.textContent)).toEqual(['@Alice', '@alice']);
  });
});

describe('MessageItem: right-to-left text', () => {
  it('lets the browser pick each message’s direction, so a Hebrew question ends on its left', () => {
    const chat = f.chat([alice, bob]);
    const { items } = show(chat, [
      { ...f.message(chat, bob, 1), content: 'מה שלומך?' },
      { ...f.message(chat, bob, 2), content: 'and in English?' },
    ]);
    for (const item of items()) {
      const text = within(item).getByText(/\?$/);
      expect(text.closest('[dir]')?.getAttribute('dir')).toBe('auto');
    }
  });
});
