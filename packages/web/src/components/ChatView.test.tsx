import type { Chat } from '@parley/protocol';
import type { ComponentProps } from 'react';
import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Typist } from '../state.js';
import * as f from '../test/factories.js';
import { ChatView } from './ChatView.js';

const alice = f.me({ username: 'alice', display_name: 'Alice' });
const now = new Date('2026-01-01T12:00:00.000Z');
const noop = () => {};

function props(chat: Chat, typists: Typist[] = []): ComponentProps<typeof ChatView> {
  return {
    chat,
    meId: alice.id,
    messages: [],
    outgoing: [],
    typists,
    hasMore: false,
    loading: false,
    error: null,
    now,
    onBack: noop,
    onAddPeople: noop,
    onLoadOlder: noop,
    onSend: noop,
    onRetry: noop,
    onTyping: noop,
    onStopTyping: noop,
  };
}

describe('ChatView', () => {
  it('heads a direct chat with the other person and their presence', () => {
    const bob = f.user({ username: 'bob', display_name: 'Bob', status: 'online' });
    const { rerender } = render(<ChatView {...props(f.chat([alice, bob]))} />);
    expect(screen.getByRole('heading', { name: 'Bob' })).toBeTruthy();
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
    render(<ChatView {...props(team, [{ userId: bob.id, username: 'bob' }])} />);
    const typing = screen.getByText('bob is typing…');
    expect(typing.getAttribute('aria-live')).toBe('polite');
    expect(screen.getByRole('heading', { name: 'Team' })).toBeTruthy();
    expect(screen.getByText('3 members: You, bob, carol')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Add people' })).toBeTruthy();
  });
});
