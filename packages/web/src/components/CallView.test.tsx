import type { Chat } from '@parley/protocol';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { endedText } from '../client/calls.js';
import * as f from '../test/factories.js';
import { ChatView } from './ChatView.js';

const alice = f.me({ username: 'alice', display_name: 'Alice' });
const noop = () => {};

function view(chat: Chat, onCall?: (media: 'audio' | 'video') => void) {
  return (
    <ChatView
      chat={chat}
      meId={alice.id}
      messages={[]}
      outgoing={[]}
      typists={[]}
      blocked={false}
      hasMore={false}
      loading={false}
      error={null}
      now={new Date('2026-01-01T12:00:00.000Z')}
      onBack={noop}
      onAddPeople={noop}
      onBlock={noop}
      onUnblock={noop}
      onLoadOlder={noop}
      onSend={noop}
      onRetry={noop}
      onTyping={noop}
      onStopTyping={noop}
      onCall={onCall}
    />
  );
}

describe('calls in the chat view', () => {
  it("offers Audio call and Video call in a direct chat's header", async () => {
    const onCall = vi.fn();
    const bob = f.user({ username: 'bob', display_name: 'Bob' });
    render(view(f.chat([alice, bob]), onCall));
    await userEvent.click(screen.getByRole('button', { name: 'Video call' }));
    await userEvent.click(screen.getByRole('button', { name: 'Audio call' }));
    expect(onCall.mock.calls).toEqual([['video'], ['audio']]);
  });

  it('offers no call in a group', () => {
    const group = f.chat([alice, f.user({ username: 'bob' }), f.user({ username: 'carol' })], {
      name: 'Tea',
    });
    render(view(group, noop));
    expect(screen.queryByRole('button', { name: 'Video call' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Audio call' })).toBeNull();
  });

  it('tells the caller why a call ended, in words', () => {
    expect(endedText('busy', 'Bob')).toBe('Bob is in another call.');
    expect(endedText('missed', 'Bob')).toBe('No answer from Bob.');
    expect(endedText('rejected', 'Bob')).toBe('Bob declined the call.');
    expect(endedText('hangup', 'Bob')).toBe('Bob hung up.');
    expect(endedText('answered_elsewhere', 'Bob')).toBeNull();
  });
});
