import { Message } from '@parley/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { Connection } from './connection.js';
import { FakeServer, fakeSession, settle } from './testing.js';

afterEach(() => vi.unstubAllGlobals());

describe('the connection', () => {
  it('says online on connect, whether it is the first, and offline on a drop', () => {
    const { socket, store, session } = fakeSession(f.me());
    const connected = vi.fn();
    const connection = new Connection(session, { connected, disconnected: vi.fn() });
    connection.start();
    expect(store.getState().connection).toBe('connecting');
    socket.serverEmit('connect');
    expect(store.getState().connection).toBe('online');
    store.update((s) => ({ ...s, typing: { c1: [{ userId: 'u', username: 'bob' }] } }));
    socket.serverEmit('disconnect', 'transport close');
    expect(store.getState()).toMatchObject({ connection: 'offline', typing: {} });
    socket.serverEmit('connect');
    expect(connected.mock.calls).toEqual([[false], [true]]);
  });

  it('shows no one online (nor offline) while disconnected or unable to connect', () => {
    const me = f.me();
    const bob = f.user({ username: 'bob', status: 'online' });
    const { socket, store, session } = fakeSession(me);
    new Connection(session, { connected: vi.fn(), disconnected: vi.fn() }).start();
    socket.serverEmit('connect');
    const chat = f.chat([me, bob]);
    store.update((s) => ({ ...s, chats: [chat] }));
    const statuses = () => store.getState().chats[0]?.participants.map((p) => p.status);
    socket.serverEmit('disconnect', 'transport close');
    expect(statuses()).toEqual([null, null]);
    store.update((s) => ({ ...s, chats: [chat] })); // say, a list fetched by REST meanwhile
    socket.serverEmit('connect_error', new Error('xhr poll error'));
    expect(statuses()).toEqual([null, null]);
  });

  it('hands handlers only payloads their schema accepts', () => {
    const { socket, session } = fakeSession(f.me());
    const connection = new Connection(session, { connected: vi.fn(), disconnected: vi.fn() });
    const handler = vi.fn();
    connection.on('message:new', Message, handler);
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    socket.serverEmit('message:new', { id: 'nonsense' });
    expect(handler).not.toHaveBeenCalled();
    expect(error).toHaveBeenCalled();
    const chat = f.chat([f.user(), f.user()]);
    socket.serverEmit('message:new', f.message(chat, f.user(), 1));
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('ends the session when a refused handshake was a refused token', async () => {
    const server = new FakeServer();
    server.route('GET', /^\/api\/auth\/me$/, () => ({
      status: 401,
      body: { error: { code: 'unauthorized', message: 'token expired' } },
    }));
    server.install();
    const { socket, session, ended } = fakeSession(f.me());
    new Connection(session, { connected: vi.fn(), disconnected: vi.fn() }).start();
    socket.serverEmit('connect_error', new Error('unauthorized'));
    await settle();
    expect(ended).toHaveBeenCalled();
  });
  it('goes on with a token replaced (a password change) while the old one was found ended', async () => {
    let answer: (value: { status: number; body?: unknown }) => void = () => {};
    const server = new FakeServer();
    server.route('GET', /^\/api\/auth\/me$/, () => new Promise((resolve) => (answer = resolve)));
    server.install();
    const { socket, session, ended } = fakeSession(f.me());
    const connect = vi.spyOn(socket, 'connect');
    new Connection(session, { connected: vi.fn(), disconnected: vi.fn() }).start();
    connect.mockClear();
    // The server dropped the old token's socket; its handshake is refused before the new token
    // arrives, and the check of the old token answers only after.
    socket.serverEmit('connect_error', new Error('unauthorized'));
    await settle();
    session.replaceToken('new-token');
    answer({ status: 401, body: { error: { code: 'unauthorized', message: 'token revoked' } } });
    await settle();
    expect(ended).not.toHaveBeenCalled();
    expect(connect).toHaveBeenCalled();
    expect((socket as unknown as { auth: unknown }).auth).toEqual({ token: 'new-token' });
  });
});
