import type { Chat } from '@parley/protocol';
import type { ComponentProps } from 'react';
import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeSession } from '../client/testing.js';
import { Uploads } from '../client/uploads.js';
import type { Typist } from '../state.js';
import * as f from '../test/factories.js';
import { ChatView } from './ChatView.js';

const alice = f.me({ username: 'alice', display_name: 'Alice' });
const now = new Date('2026-01-01T12:00:00.000Z');
const noop = () => {};

function props(
  chat: Chat,
  typists: Typist[] = [],
  more: Partial<ComponentProps<typeof ChatView>> = {},
): ComponentProps<typeof ChatView> {
  return {
    chat,
    meId: alice.id,
    messages: [],
    outgoing: [],
    typists,
    blocked: false,
    hasMore: false,
    loading: false,
    error: null,
    now,
    onBack: noop,
    onAddPeople: noop,
    onBlock: noop,
    onUnblock: noop,
    onLoadOlder: noop,
    onSend: noop,
    onRetry: noop,
    onTyping: noop,
    onStopTyping: noop,
    ...more,
  };
}

describe('ChatView', () => {
  it('heads a direct chat with the other person and their presence', () => {
    const bob = f.user({ username: 'bob', display_name: 'Bob', status: 'online' });
    const { rerender } = render(<ChatView {...props(f.chat([alice, bob]))} />);
    expect(screen.getByRole('heading', { name: 'Bob' })).toBeTruthy();
    // The handle beside the name: a display name can imitate someone, a username cannot.
    expect(screen.getByText('@bob')).toBeTruthy();
    expect(screen.getByText('online')).toBeTruthy();

    const away = f.chat([alice, { ...bob, status: 'offline', last_seen_at: now.toISOString() }]);
    rerender(<ChatView {...props(away)} />);
    expect(screen.getByText('last seen just now')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Add people' })).toBeNull();
  });

  it('announces who is typing in a live region, and offers Add people in a group', () => {
    const bob = f.user({ username: 'bob' });
    const carol = f.user({ username: 'carol' });
    const team = f.chat([alice, bob, carol], { name: 'Team' });
    team.participants[0]!.role = 'owner';
    render(<ChatView {...props(team, [{ userId: bob.id, username: 'bob' }])} />);
    const typing = screen.getByText('bob is typing…');
    expect(typing.getAttribute('aria-live')).toBe('polite');
    expect(screen.getByRole('heading', { name: 'Team' })).toBeTruthy();
    expect(screen.getByText('3 members: You, @bob, @carol')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Add people' })).toBeTruthy();
  });
});

describe('ChatView: handles, presence and blocking', () => {
  it('names every member with their handle, the display name first when it differs', () => {
    const fake = f.user({ username: 'mallory', display_name: 'Alice' });
    const bob = f.user({ username: 'bob', display_name: 'Bob Stone' });
    render(<ChatView {...props(f.chat([alice, fake, bob], { name: 'Team' }))} />);
    expect(screen.getByText('3 members: You, Alice (@mallory), Bob Stone (@bob)')).toBeTruthy();
  });

  it('shows no presence, dot or words, for someone whose status is hidden', () => {
    const bob = f.user({ username: 'bob', display_name: 'Bob', status: null, last_seen_at: null });
    const { container } = render(<ChatView {...props(f.chat([alice, bob]))} />);
    expect(screen.getByText('@bob')).toBeTruthy();
    expect(screen.queryByText(/online|last seen/)).toBeNull();
    expect(container.querySelector('.presence-dot')).toBeNull();
  });

  it('offers Block in a direct chat, and Unblock with a note once blocked', async () => {
    const bob = f.user({ username: 'bob', display_name: 'Bob' });
    const direct = f.chat([alice, bob]);
    const onBlock = vi.fn();
    const onUnblock = vi.fn();
    const { rerender } = render(<ChatView {...props(direct, [], { onBlock, onUnblock })} />);
    expect(screen.queryByRole('status')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Block' }));
    expect(onBlock).toHaveBeenCalledOnce();

    rerender(<ChatView {...props(direct, [], { onBlock, onUnblock, blocked: true })} />);
    expect(screen.queryByRole('button', { name: 'Block' })).toBeNull();
    expect(screen.getByRole('status').textContent).toMatch(/^You blocked Bob \(@bob\)\./);
    await userEvent.click(screen.getByRole('button', { name: 'Unblock' }));
    expect(onUnblock).toHaveBeenCalledOnce();
  });

  it('offers no Block in a group', () => {
    const team = f.chat([alice, f.user(), f.user()], { name: 'Team' });
    render(<ChatView {...props(team)} />);
    expect(screen.queryByRole('button', { name: 'Block' })).toBeNull();
  });
});

describe('ChatView: group management', () => {
  const bob = f.user({ username: 'bob', display_name: 'Bob' });
  const carol = f.user({ username: 'carol', display_name: 'Carol' });
  const withRole = (role: 'owner' | 'admin' | 'member') => {
    const team = f.chat([alice, bob, carol], { name: 'Team' });
    team.participants[0]!.role = role;
    if (role !== 'owner') team.participants[1]!.role = 'owner';
    return team;
  };
  const handlers = () => ({
    onMembers: vi.fn(),
    onRename: vi.fn(),
    onLeave: vi.fn(),
    onAddPeople: vi.fn(),
  });
  const names = () => screen.getAllByRole('button').map((b) => b.textContent);

  it('gives an owner or admin Members, Add people, Rename group and Leave group', async () => {
    for (const role of ['owner', 'admin'] as const) {
      const on = handlers();
      const { unmount } = render(<ChatView {...props(withRole(role), [], on)} />);
      for (const name of ['Members', 'Add people', 'Rename group', 'Leave group']) {
        await userEvent.click(screen.getByRole('button', { name }));
      }
      expect(on.onMembers).toHaveBeenCalledOnce();
      expect(on.onAddPeople).toHaveBeenCalledOnce();
      expect(on.onRename).toHaveBeenCalledOnce();
      expect(on.onLeave).toHaveBeenCalledOnce();
      unmount();
    }
  });

  it('shows a plain member only what the server lets them do: Members and Leave group', () => {
    render(<ChatView {...props(withRole('member'), [], handlers())} />);
    expect(names()).toEqual(expect.arrayContaining(['Members', 'Leave group']));
    expect(screen.queryByRole('button', { name: 'Add people' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Rename group' })).toBeNull();
  });

  it('offers none of them in a direct chat', () => {
    render(<ChatView {...props(f.chat([alice, bob]), [], handlers())} />);
    for (const name of ['Members', 'Add people', 'Rename group', 'Leave group']) {
      expect(screen.queryByRole('button', { name })).toBeNull();
    }
  });
});

describe('ChatView: replies', () => {
  it('Reply puts a bar over the composer; sending answers that message', async () => {
    const bob = f.user({ username: 'bob', display_name: 'Bob' });
    const chat = f.chat([alice, bob]);
    const question = f.message(chat, bob, 1, 'lunch?\nat noon');
    const onSend = vi.fn<(content: string, options?: { replyToId?: string }) => void>();
    render(<ChatView {...props(chat, [], { messages: [question], onSend })} />);

    await userEvent.click(screen.getByRole('button', { name: 'Message actions' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Reply' }));
    expect(screen.getByText('Replying to Bob')).toBeTruthy();
    const field = screen.getByRole('textbox', { name: 'Message' });
    expect(document.activeElement).toBe(field);

    await userEvent.type(field, 'yes{Enter}');
    expect(onSend).toHaveBeenCalledExactlyOnceWith('yes', { replyToId: question.id });
    expect(screen.queryByText('Replying to Bob')).toBeNull();

    await userEvent.type(field, 'plain{Enter}');
    expect(onSend).toHaveBeenLastCalledWith('plain', undefined);
  });

  it('Escape cancels the reply', async () => {
    const bob = f.user({ username: 'bob', display_name: 'Bob' });
    const chat = f.chat([alice, bob]);
    const onSend = vi.fn<(content: string, options?: { replyToId?: string }) => void>();
    render(<ChatView {...props(chat, [], { messages: [f.message(chat, bob, 1)], onSend })} />);
    await userEvent.click(screen.getByRole('button', { name: 'Message actions' }));
    await userEvent.click(screen.getByRole('menuitem', { name: 'Reply' }));
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByText(/Replying to/)).toBeNull();
    await userEvent.type(screen.getByRole('textbox', { name: 'Message' }), 'hi{Enter}');
    expect(onSend).toHaveBeenCalledExactlyOnceWith('hi', undefined);
  });
});

describe('ChatView: drafts', () => {
  afterEach(() => localStorage.clear());

  it('keeps a draft per chat across switching chats', async () => {
    const bob = f.user({ username: 'bob' });
    const carol = f.user({ username: 'carol' });
    const withBob = f.chat([alice, bob]);
    const withCarol = f.chat([alice, carol]);
    const field = () => screen.getByRole('textbox', { name: 'Message' });
    // As the app does: one ChatView per open chat.
    const { rerender } = render(<ChatView key={withBob.id} {...props(withBob)} />);
    await userEvent.type(field(), 'for Bob');
    rerender(<ChatView key={withCarol.id} {...props(withCarol)} />);
    expect(field()).toHaveProperty('value', '');
    await userEvent.type(field(), 'for Carol');
    rerender(<ChatView key={withBob.id} {...props(withBob)} />);
    expect(field()).toHaveProperty('value', 'for Bob');
    rerender(<ChatView key={withCarol.id} {...props(withCarol)} />);
    expect(field()).toHaveProperty('value', 'for Carol');
  });
});

describe('ChatView: dropping files', () => {
  const bob = f.user({ username: 'bob', display_name: 'Bob' });
  const chat = f.chat([alice, bob]);

  function renderWithUploads() {
    const { socket, session } = fakeSession(alice);
    socket.serverEmit('connect');
    const uploads = new Uploads(session, { stored: () => {} });
    render(<ChatView {...props(chat, [], { uploads })} />);
    return { socket, pane: screen.getByRole('region', { name: 'Bob' }) };
  }

  const plan = new File([new Uint8Array(100)], 'plan.pdf', { type: 'application/pdf' });
  const files = { dataTransfer: { files: [plan], types: ['Files'] } };
  const overlay = () => screen.queryByText('Drop files to attach');

  it('takes files dropped anywhere on the open chat, saying so while they are dragged', () => {
    const { socket, pane } = renderWithUploads();
    const heading = within(pane).getByRole('heading', { name: 'Bob' });
    expect(overlay()).toBeNull();
    fireEvent.dragEnter(pane, files);
    expect(overlay()).toBeTruthy();
    // Crossing into the header: its enter comes before the pane's leave, and the drag is still on.
    fireEvent.dragEnter(heading, files);
    fireEvent.dragLeave(pane, files);
    expect(overlay()).toBeTruthy();
    // Dropped on the header, far from the composer: the browser must not open the file itself.
    expect(fireEvent.dragOver(heading, files)).toBe(false);
    expect(fireEvent.drop(heading, files)).toBe(false);
    expect(overlay()).toBeNull();
    // The composer's attach path: in the tray, uploading to this chat.
    const tray = screen.getByRole('list', { name: 'Files to send' });
    expect(within(tray).getByText('plan.pdf')).toBeTruthy();
    expect(screen.getByRole('progressbar', { name: 'Uploading plan.pdf' })).toBeTruthy();
    expect(socket.sent('upload:start')).toEqual([
      expect.objectContaining({ chatId: chat.id, name: 'plan.pdf', size: 100 }),
    ]);
  });

  it('hides the overlay when the files are dragged away, and ignores dragged text', () => {
    const { socket, pane } = renderWithUploads();
    fireEvent.dragEnter(pane, files);
    fireEvent.dragLeave(pane, files);
    expect(overlay()).toBeNull();
    const text = { dataTransfer: { files: [], types: ['text/plain'] } };
    fireEvent.dragEnter(pane, text);
    expect(overlay()).toBeNull();
    // Not taken: the composer's field receives dropped text as the browser does it.
    expect(fireEvent.dragOver(pane, text)).toBe(true);
    fireEvent.drop(pane, text);
    expect(socket.sent('upload:start')).toEqual([]);
  });

  it('is no drop target without uploads', () => {
    render(<ChatView {...props(chat)} />);
    const pane = screen.getByRole('region', { name: 'Bob' });
    fireEvent.dragEnter(pane, files);
    expect(overlay()).toBeNull();
    expect(fireEvent.dragOver(pane, files)).toBe(true);
  });
});
