import type { Message } from '@parley/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { ChatClient } from './chat-client.js';
import { FakeServer, FakeSocket, settle } from './testing.js';

afterEach(() => vi.unstubAllGlobals());

/** A server holding one direct chat between alice and bob, and a client of alice's. */
function setup(messages = 3) {
  const alice = f.me({ username: 'alice' });
  const bob = f.user({ username: 'bob' });
  const chat = f.chat([alice, bob]);
  const all: Message[] = Array.from({ length: messages }, (_, i) => f.message(chat, bob, i + 1));
  const server = new FakeServer();
  const current = () => ({ ...chat, last_message: all.at(-1) ?? null, version: all.length });
  server.route('GET', /^\/api\/chats$/, () => ({
    status: 200,
    body: { chats: [current()], next_cursor: null },
  }));
  server.route('GET', /^\/api\/users\/blocked$/, () => ({ status: 200, body: { users: [] } }));
  server.route('GET', /\/messages$/, (call) => {
    const after = call.query.get('after');
    const from = after ? all.findIndex((m) => m.id === after) + 1 : Math.max(0, all.length - 50);
    return { status: 200, body: { messages: all.slice(from), has_more: false } };
  });
  server.install();
  const socket = new FakeSocket();
  const ended = vi.fn();
  const client = new ChatClient('token', alice, ended, { socket: socket.asSocket() });
  return { alice, bob, chat, all, server, socket, client, ended };
}

describe('ChatClient', () => {
  it('loads the list on connect and the open chat’s history, and marks it read', async () => {
    const { chat, socket, client, all } = setup();
    client.start();
    socket.serverEmit('connect');
    await settle();
    client.setOpenChat(chat.id);
    await settle();
    const s = client.getState();
    expect(s.connection).toBe('online');
    expect(s.chats.map((c) => c.id)).toEqual([chat.id]);
    expect(s.histories[chat.id]?.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(socket.sent('message:read')).toEqual([{ chatId: chat.id, messageId: all[2]!.id }]);
    client.stop();
  });

  it('after a reconnect fetches what the held history missed, and resends what was in flight', async () => {
    const { bob, chat, socket, client, all } = setup();
    client.start();
    socket.serverEmit('connect');
    await settle();
    client.setOpenChat(chat.id);
    await settle();
    socket.serverEmit('disconnect', 'transport close');
    client.send(chat.id, 'while away');
    all.push(f.message(chat, bob, 4, 'missed'));
    socket.serverEmit('connect');
    await settle();
    expect(client.getState().histories[chat.id]?.messages.map((m) => m.content)).toContain(
      'missed',
    );
    expect(socket.sent('message:send')).toHaveLength(2);
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
});
