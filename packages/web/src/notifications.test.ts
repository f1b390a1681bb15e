import { afterEach, describe, expect, it, vi } from 'vitest';
import { Notifier, notificationFor } from './notifications.js';
import { emptyHistory, initialState, type State } from './state.js';
import * as f from './test/factories.js';

afterEach(() => vi.unstubAllGlobals());

function setup() {
  const alice = f.me({ username: 'alice' });
  const bob = f.user({ username: 'bob', display_name: 'Bob Stone' });
  const direct = f.chat([alice, bob]);
  const group = f.chat([alice, bob, f.user()], { name: 'Team' });
  const state: State = {
    ...initialState(alice, 'granted'),
    chats: [direct, group],
    histories: { [direct.id]: emptyHistory() },
  };
  return { alice, bob, direct, group, state };
}

const away = { openChatId: null, hidden: true };

describe('which messages notify', () => {
  it('a direct message or a mention, from someone else, while I look elsewhere', () => {
    const { alice, bob, direct, group, state } = setup();
    expect(notificationFor(state, f.message(direct, bob, 1, 'hi'), away)).toMatchObject({
      chatId: direct.id,
      title: 'Bob Stone',
      body: 'hi',
    });
    // A group message notifies only when it mentions me.
    expect(notificationFor(state, f.message(group, bob, 1), away)).toBeNull();
    const mention = { ...f.message(group, bob, 2, '@alice look'), mentions: [alice.id] };
    expect(notificationFor(state, mention, away)?.title).toBe('Bob Stone in Team');
    // Mine, or in a chat on screen, or in a muted chat: no.
    expect(notificationFor(state, f.message(direct, alice, 3), away)).toBeNull();
    const viewing = { openChatId: direct.id, hidden: false };
    expect(notificationFor(state, f.message(direct, bob, 4), viewing)).toBeNull();
    const other = { openChatId: group.id, hidden: false };
    expect(notificationFor(state, f.message(direct, bob, 5), other)).not.toBeNull();
    const muted = { ...state, chats: state.chats.map((c) => ({ ...c, muted: true })) };
    expect(notificationFor(muted, f.message(direct, bob, 6), away)).toBeNull();
  });

  it('none without permission, and a body of at most 100 characters', () => {
    const { bob, direct, state } = setup();
    const long = f.message(direct, bob, 1, 'x'.repeat(150));
    expect(notificationFor(state, long, away)?.body).toHaveLength(100);
    expect(notificationFor({ ...state, notifications: 'default' }, long, away)).toBeNull();
  });
});

describe('the notifier', () => {
  it('shows a notification whose click focuses the window and asks to open the chat', () => {
    const { bob, direct, state } = setup();
    const shown: { title: string; options: NotificationOptions; onclick?: () => void }[] = [];
    class FakeNotification {
      static permission = 'granted';
      static requestPermission = vi.fn(async () => 'granted');
      onclick?: () => void;
      close = vi.fn();
      constructor(title: string, options: NotificationOptions) {
        shown.push(Object.assign(this, { title, options }));
      }
    }
    vi.stubGlobal('Notification', FakeNotification);
    const focus = vi.spyOn(window, 'focus').mockImplementation(() => {});
    const notifier = new Notifier();
    const open = vi.fn();
    notifier.onOpenChatRequest(open);
    const m = f.message(direct, bob, 1, 'hello');
    notifier.arrived(state, m, away);
    expect(shown).toMatchObject([{ title: 'Bob Stone', options: { body: 'hello', tag: m.id } }]);
    shown[0]?.onclick?.();
    expect(focus).toHaveBeenCalled();
    expect(open).toHaveBeenCalledWith(direct.id);
  });

  it('says unsupported where the browser has no notifications', async () => {
    vi.stubGlobal('Notification', undefined);
    Reflect.deleteProperty(window, 'Notification');
    expect(await new Notifier().request()).toBe('unsupported');
  });
});
