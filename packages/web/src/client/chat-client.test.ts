import { afterEach, describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { ChatClient } from './chat-client.js';
import { reportFollowing, reportSeen } from './read-marks.js';
import { FakeChat, FakeServer, FakeSocket, settle } from './testing.js';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** A server holding one direct chat between alice and bob, and a client of alice's. */
function setup(messages = 3) {
  const alice = f.me({ username: 'alice' });
  const bob = f.user({ username: 'bob', display_name: 'Bob' });
  const remote = new FakeChat(f.chat([alice, bob]));
  for (let i = 0; i < messages; i++) remote.send(bob);
  const chat = remote.chat;
  const server = new FakeServer();
  server.route('GET', /^\/api\/chats$/, () => ({
    status: 200,
    body: { chats: [remote.current()], next_cursor: null },
  }));
  server.route('GET', /^\/api\/users\/blocked$/, () => ({ status: 200, body: { users: [] } }));
  remote.serve(server);
  server.install();
  const socket = new FakeSocket();
  const ended = vi.fn();
  const client = new ChatClient('token', alice, ended, { socket: socket.asSocket() });
  const held = () => client.getState().histories[chat.id]!;
  /** Connected, the chat list loaded and the chat open. */
  const open = async () => {
    client.start();
    socket.serverEmit('connect');
    await settle();
    client.setOpenChat(chat.id);
    await settle();
  };
  return { alice, bob, chat, remote, server, socket, client, ended, held, open };
}

describe('ChatClient', () => {
  it('loads the list on connect and the open chat’s history, and marks it read', async () => {
    const { chat, remote, socket, client, held, open } = setup();
    await open();
    const s = client.getState();
    expect(s.connection).toBe('online');
    expect(s.chats.map((c) => c.id)).toEqual([chat.id]);
    expect(held().messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(socket.sent('message:read')).toEqual([
      { chatId: chat.id, messageId: remote.messages[2]!.id },
    ]);
    client.stop();
  });

  it('after a reconnect shows what changed while away, and resends what was in flight', async () => {
    const { bob, chat, remote, server, socket, client, held, open } = setup();
    await open();
    socket.serverEmit('disconnect', 'transport close');
    client.send(chat.id, 'while away');
    const [m1, m2] = remote.messages;
    remote.send(bob, 'missed');
    remote.edit(m1!.id, 'edited while away');
    remote.remove(m2!.id);
    socket.serverEmit('connect');
    await settle();
    expect(held().messages.map((m) => m.content)).toEqual([
      'edited while away',
      '',
      'message 3',
      'missed',
    ]);
    expect(server.called('GET', /\/changes$/).map((c) => c.query.get('since'))).toEqual(['3']);
    // Sent once, on the new connection: nothing went to socket.io's buffer while offline.
    expect(socket.sent('message:send')).toHaveLength(1);
    client.stop();
  });

  it('asks nothing of a held history on reconnect when its chat did not change', async () => {
    const { server, socket, open, client } = setup();
    await open();
    socket.serverEmit('disconnect', 'transport close');
    socket.serverEmit('connect');
    await settle();
    expect(server.called('GET', /^\/api\/chats$/)).toHaveLength(2);
    expect(server.called('GET', /\/changes$/)).toHaveLength(0);
    expect(server.called('GET', /\/messages$/)).toHaveLength(1);
    client.stop();
  });

  it('sends a reply with the id of the message it answers', async () => {
    const { chat, remote, socket, client, open } = setup();
    await open();
    const answered = remote.messages[0]!.id;
    client.send(chat.id, 'yes', { replyToId: answered });
    expect(client.getState().outgoing[chat.id]?.[0]?.replyToId).toBe(answered);
    expect(socket.sent('message:send')[0]).toMatchObject({ replyToId: answered });
    client.stop();
  });

  it('shows a message far back by loading older pages, then focuses it', async () => {
    const { chat, remote, client, held, open } = setup(180);
    await open();
    const target = remote.messages[5]!;
    await client.showMessage(chat.id, target.id);
    expect(held().messages.some((m) => m.id === target.id)).toBe(true);
    const first = client.getState().focus;
    expect(first).toMatchObject({ chatId: chat.id, messageId: target.id });
    await client.showMessage(chat.id, target.id);
    expect(client.getState().focus?.nonce).not.toBe(first?.nonce);
    client.clearFocus();
    expect(client.getState().focus).toBeNull();
    await client.showMessage(chat.id, '00000000-0000-4000-8000-00000000ffff');
    expect(client.getState().notice?.text).toBe('That message is no longer in this chat.');
    client.stop();
  });

  it('notifies of a direct message while the tab is hidden; a click asks to open the chat', async () => {
    const { bob, chat, remote, socket, client, open } = setup();
    const shown: { title: string; onclick?: () => void }[] = [];
    class FakeNotification {
      static permission: NotificationPermission = 'default';
      static requestPermission = vi.fn(async () => {
        FakeNotification.permission = 'granted';
        return FakeNotification.permission;
      });
      onclick?: () => void;
      close = vi.fn();
      constructor(readonly title: string) {
        shown.push(this);
      }
    }
    vi.stubGlobal('Notification', FakeNotification);
    vi.spyOn(window, 'focus').mockImplementation(() => {});
    await open();
    expect(client.getState().notifications).toBe('default');
    await client.enableNotifications();
    expect(client.getState().notifications).toBe('granted');
    const requested = vi.fn();
    client.onOpenChatRequest(requested);
    vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    socket.serverEmit('message:new', remote.send(bob, 'are you there?'));
    expect(shown.map((n) => n.title)).toEqual(['Bob']);
    shown[0]?.onclick?.();
    expect(requested).toHaveBeenCalledWith(chat.id);
    client.stop();
  });

  it('mutes a chat with the server’s answer', async () => {
    const { chat, remote, server, client, open } = setup();
    server.route('PATCH', /\/settings$/, () => ({
      status: 200,
      body: { ...remote.current(), muted: true },
    }));
    await open();
    await client.setMuted(chat.id, true);
    expect(client.getState().chats[0]?.muted).toBe(true);
    client.stop();
  });

  it('leaving a chat lets it go at once, and the chat:removed that follows says nothing', async () => {
    const { alice, chat, server, socket, client, open } = setup();
    server.route('DELETE', /\/participants\/[^/]+$/, () => ({ status: 204 }));
    await open();
    await client.leaveChat(chat.id);
    expect(server.called('DELETE', /\/participants\//)[0]?.path).toBe(
      `/api/chats/${chat.id}/participants/${alice.id}`,
    );
    expect(client.getState().chats).toEqual([]);
    expect(client.getState().histories[chat.id]).toBeUndefined();
    socket.serverEmit('chat:removed', { chatId: chat.id });
    expect(client.getState().notice).toBeNull();
    client.stop();
  });

  it('shows a chat created by me at once', async () => {
    const { alice, server, client } = setup();
    const carol = f.user({ username: 'carol' });
    const created = f.chat([alice, carol]);
    server.route('POST', /^\/api\/chats$/, () => ({ status: 201, body: created }));
    await client.openDirect(carol.id);
    expect(client.getState()).toMatchObject({ chatsLoaded: true, chats: [{ id: created.id }] });
  });

  it('takes a new display name and token without starting over', async () => {
    const { alice, chat, socket, server, client, held, open, ended } = setup();
    await open();
    const renamed = { ...alice, display_name: 'Alice M.' };
    client.updateAccount('token-2', renamed);
    expect(client.getState().me.display_name).toBe('Alice M.');
    // What it held stays; the next handshake carries the new token.
    expect(held().messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(client.getState().chats.map((c) => c.id)).toEqual([chat.id]);
    expect((socket as unknown as { auth: unknown }).auth).toEqual({ token: 'token-2' });
    expect(ended).not.toHaveBeenCalled();
    // A call made now asks for its ICE servers with the new token (the old one is revoked).
    // (No camera here: the call stops after asking, which is all this needs.)
    vi.stubGlobal('MediaStream', class {});
    Object.defineProperty(navigator, 'mediaDevices', {
      configurable: true,
      value: { getUserMedia: () => Promise.reject(new Error('no camera')) },
    });
    server.route('GET', /^\/api\/calls\/ice-servers$/, () => ({
      status: 200,
      body: { iceServers: [] },
    }));
    await client.calls.start(chat.id, { id: 'someone', name: 'Bob' }, 'audio');
    const asked = server.called('GET', /^\/api\/calls\/ice-servers$/);
    expect(asked.map((c) => c.authorization)).toEqual(['Bearer token-2']);
    client.stop();
  });

  it('keeps the unread badge of the open chat while scrolled up, until the message is seen', async () => {
    const { bob, chat, remote, socket, client, open } = setup();
    // A browser whose list tells what is on screen.
    vi.stubGlobal('IntersectionObserver', class {});
    await open();
    const [, , third] = remote.messages;
    reportSeen({ chatId: chat.id, messageId: third!.id, seq: 3 });
    const badge = () => client.getState().chats[0]!.unread_count;
    expect(badge()).toBe(0);

    // Scrolled up, reading older messages: Bob writes.
    reportFollowing({ chatId: chat.id, following: false });
    const fourth = remote.send(bob, 'are you there?');
    socket.serverEmit('message:new', fourth);
    await settle();
    expect(badge()).toBe(1);
    expect(socket.sent('message:read').at(-1)).toEqual({ chatId: chat.id, messageId: third!.id });

    // Back at the end, the list shows it: read.
    reportFollowing({ chatId: chat.id, following: true });
    reportSeen({ chatId: chat.id, messageId: fourth.id, seq: 4 });
    expect(badge()).toBe(0);
    expect(socket.sent('message:read').at(-1)).toEqual({ chatId: chat.id, messageId: fourth.id });

    // At the end, what arrives is read at once.
    socket.serverEmit('message:new', remote.send(bob, 'hello again'));
    await settle();
    expect(badge()).toBe(0);
    client.stop();
  });
});
