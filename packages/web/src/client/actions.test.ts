import type { Chat } from '@parley/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { Actions } from './actions.js';
import { ActionError } from './errors.js';
import { FakeServer, fakeSession } from './testing.js';

afterEach(() => vi.unstubAllGlobals());

function setup() {
  const alice = f.me({ username: 'alice' });
  const chat = f.chat([alice, f.user()]);
  const message = f.message(chat, alice, 1, 'typo');
  const env = fakeSession(alice);
  const edited = vi.fn();
  const chatChanged = vi.fn();
  const left = vi.fn();
  const actions = new Actions(env.session, { edited, chatChanged, left }, 50);
  const server = new FakeServer();
  server.install();
  return { ...env, alice, chat, message, actions, edited, chatChanged, left, server };
}

describe('message actions', () => {
  it('edits over the socket and hands over the server’s copy', async () => {
    const { socket, chat, message, actions, edited } = setup();
    socket.connected = true;
    const copy = { ...message, content: 'fixed', version: 2 };
    socket.answers.set('message:edit', () => ({ ok: true, message: copy }));
    await actions.edit(chat.id, message.id, 'fixed');
    expect(socket.sent('message:edit')).toEqual([
      { chatId: chat.id, messageId: message.id, content: 'fixed' },
    ]);
    expect(edited).toHaveBeenCalledWith(copy);
  });

  it('rejects a refusal with words, and a silent server with a timeout in words', async () => {
    const { socket, chat, message, actions } = setup();
    socket.connected = true;
    socket.answers.set('message:edit', () => ({
      ok: false,
      error: { code: 'forbidden', message: 'the time to edit this message has passed' },
    }));
    const refused = actions.edit(chat.id, message.id, 'late');
    await expect(refused).rejects.toBeInstanceOf(ActionError);
    await expect(refused).rejects.toThrow('The time to edit this message has passed.');
    await expect(actions.deleteMessage(chat.id, message.id)).rejects.toThrow(
      'The server did not answer in time.',
    );
  });

  it('reacts and deletes over the socket with acknowledgements', async () => {
    const { socket, chat, message, actions } = setup();
    socket.connected = true;
    for (const e of ['reaction:add', 'reaction:remove', 'message:delete'])
      socket.answers.set(e, () => ({ ok: true }));
    await actions.react(chat.id, message.id, '👍', 'add');
    await actions.react(chat.id, message.id, '👍', 'remove');
    await actions.deleteMessage(chat.id, message.id);
    const ref = { chatId: chat.id, messageId: message.id };
    expect(socket.sent('reaction:add')).toEqual([{ ...ref, emoji: '👍' }]);
    expect(socket.sent('reaction:remove')).toEqual([{ ...ref, emoji: '👍' }]);
    expect(socket.sent('message:delete')).toEqual([ref]);
  });

  it('uses the REST twins while the socket is down, the emoji URL-encoded', async () => {
    const { chat, message, actions, edited, server } = setup();
    const copy = { ...message, content: 'fixed', version: 2 };
    server.route('PATCH', /\/messages\/[^/]+$/, () => ({ status: 200, body: copy }));
    server.route('DELETE', /\/messages\/[^/]+$/, () => ({ status: 204 }));
    server.route('PUT', /\/reactions\//, () => ({ status: 204 }));
    await actions.edit(chat.id, message.id, 'fixed');
    await actions.deleteMessage(chat.id, message.id);
    await actions.react(chat.id, message.id, '❤️', 'add');
    expect(edited).toHaveBeenCalledWith(copy);
    expect(server.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `PATCH /api/chats/${chat.id}/messages/${message.id}`,
      `DELETE /api/chats/${chat.id}/messages/${message.id}`,
      `PUT /api/chats/${chat.id}/messages/${message.id}/reactions/${encodeURIComponent('❤️')}`,
    ]);
    expect(server.calls[0]?.body).toEqual({ content: 'fixed' });
  });

  it('loads edits, searches and mutes, and words a failure without an API path', async () => {
    const { alice, chat, message, actions, chatChanged, server } = setup();
    const edits = [{ content: 'typo', edited_at: '2026-01-01T10:05:00.000Z' }];
    server.route('GET', /\/edits$/, () => ({ status: 200, body: { edits } }));
    server.route('GET', /^\/api\/search\/messages$/, (call) => ({
      status: 200,
      body: { messages: call.query.get('q') === 'typo' ? [message] : [], has_more: false },
    }));
    server.route('PATCH', /\/settings$/, (call) => ({
      status: 200,
      body: { ...chat, muted: (call.body as { muted: boolean }).muted },
    }));
    expect(await actions.loadEdits(chat.id, message.id)).toEqual(edits);
    expect(await actions.searchMessages({ q: 'typo', chatId: chat.id })).toEqual({
      messages: [message],
      has_more: false,
    });
    expect(server.calls[1]?.query.get('chatId')).toBe(chat.id);
    await actions.setMuted(chat.id, true);
    expect(chatChanged).toHaveBeenCalledWith(expect.objectContaining({ muted: true }));
    server.route('GET', /^\/api\/search\/messages$/, () => ({
      status: 400,
      body: { error: { code: 'validation_failed', message: 'q must not be only whitespace' } },
    }));
    const failed = actions.searchMessages({ q: ' ' });
    await expect(failed).rejects.toThrow('q must not be only whitespace');
    await expect(failed).rejects.not.toThrow(/\/api/);
    expect(alice).toBeDefined();
  });

  it('ends the session when the token is refused', async () => {
    const { chat, actions, server, ended } = setup();
    server.route('PATCH', /\/settings$/, () => ({
      status: 401,
      body: { error: { code: 'unauthorized', message: 'expired' } },
    }));
    await expect(actions.setMuted(chat.id, true)).rejects.toThrow('Your session has ended');
    expect(ended).toHaveBeenCalled();
  });
});

describe('group management actions', () => {
  function group() {
    const env = setup();
    const bob = f.user({ username: 'bob', display_name: 'Bob' });
    const carol = f.user({ username: 'carol', display_name: 'Carol' });
    const team = f.chat([env.alice, bob, carol], { name: 'Team' });
    team.participants[0]!.role = 'owner';
    env.store.update((s) => ({ ...s, chats: [team] }));
    return { ...env, bob, carol, team };
  }

  it('renames and changes roles over HTTP, applying the server’s copy at once', async () => {
    const { team, bob, actions, chatChanged, server } = group();
    server.route('PATCH', /^\/api\/chats\/[^/]+$/, (call) => ({
      status: 200,
      body: { ...team, name: (call.body as { name: string }).name },
    }));
    server.route('PATCH', /\/participants\/[^/]+$/, () => ({
      status: 200,
      body: {
        ...team,
        participants: team.participants.map((p) => (p.id === bob.id ? { ...p, role: 'admin' } : p)),
      },
    }));
    await actions.renameGroup(team.id, 'Road trip');
    await actions.setRole(team.id, bob.id, 'admin');
    expect(server.calls.map((c) => [`${c.method} ${c.path}`, c.body])).toEqual([
      [`PATCH /api/chats/${team.id}`, { name: 'Road trip' }],
      [`PATCH /api/chats/${team.id}/participants/${bob.id}`, { role: 'admin' }],
    ]);
    expect(chatChanged.mock.calls[0]?.[0]).toMatchObject({ id: team.id, name: 'Road trip' });
    const roles = (chatChanged.mock.calls[1]?.[0] as Chat).participants.map((p) => p.role);
    expect(roles).toEqual(['owner', 'admin', 'member']);
  });

  it('removes someone: the held chat drops them without waiting for chat:updated', async () => {
    const { team, carol, actions, chatChanged, server } = group();
    server.route('DELETE', /\/participants\/[^/]+$/, () => ({ status: 204 }));
    await actions.removeParticipant(team.id, carol.id);
    expect(server.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `DELETE /api/chats/${team.id}/participants/${carol.id}`,
    ]);
    const after = chatChanged.mock.calls[0]?.[0] as Chat;
    expect(after.participants.map((p) => p.username)).toEqual(['alice', 'bob']);
  });

  it('leaves with my own id, and the chat is let go', async () => {
    const { team, alice, actions, left, server } = group();
    server.route('DELETE', /\/participants\/[^/]+$/, () => ({ status: 204 }));
    await actions.leaveChat(team.id);
    expect(server.calls[0]?.path).toBe(`/api/chats/${team.id}/participants/${alice.id}`);
    expect(left).toHaveBeenCalledWith(team.id);
  });

  it('words a refusal as a sentence, and lets nothing go when leaving failed', async () => {
    const { team, bob, actions, left, chatChanged, server } = group();
    server.route('PATCH', /\/participants\/[^/]+$/, () => ({
      status: 403,
      body: { error: { code: 'forbidden', message: 'only the owner can change roles' } },
    }));
    server.route('DELETE', /\/participants\/[^/]+$/, () => ({
      status: 503,
      body: { error: { code: 'unavailable', message: 'shutting down' } },
    }));
    await expect(actions.setRole(team.id, bob.id, 'admin')).rejects.toThrow(
      'Only the owner can change roles.',
    );
    await expect(actions.leaveChat(team.id)).rejects.toThrow('The server is busy or restarting');
    expect(left).not.toHaveBeenCalled();
    expect(chatChanged).not.toHaveBeenCalled();
  });
});
