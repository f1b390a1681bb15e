import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import {
  closeSockets,
  connect,
  createDirect,
  createGroup,
  emitAck,
  record,
  registerUser,
  sendMessage,
  settle,
  type ClientSocket,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

// Membership changes that land while a socket is between two steps of its own. Each test holds
// one step back (the real service call, delayed: no fake data) to open the window every time.
// The step is held on the first node, so the held socket connects to that node itself
// (`heldNode()`); everything else goes through `server.url`: with several nodes, the racing
// change lands on any of them.

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterEach(() => closeSockets());
afterAll(() => server.close());

/** The URL of the node whose services holdFirstCall() wraps. */
const heldNode = () => server.nodeUrls[0] ?? server.url;

/** A promise and the function that resolves it. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/**
 * Wraps the handshake's read of the session and memberships (`handshake`) or the access check of
 * chat:join (`participant`) so that its first call runs, then waits for `hold` before answering;
 * `reached` resolves when that call has its answer.
 */
function holdFirstCall(name: 'handshake' | 'participant', hold: Promise<void>) {
  const target = name === 'handshake' ? server.app.services.auth : server.app.services.access;
  const chats = target as unknown as Record<string, (...args: never[]) => Promise<unknown>>;
  const original = (chats[name] as (...args: never[]) => Promise<unknown>).bind(target);
  const reached = gate();
  let first = true;
  (chats as unknown as Record<string, unknown>)[name] = async (...args: never[]) => {
    const result = await original(...args);
    if (first) {
      first = false;
      reached.open();
      await hold;
    }
    return result;
  };
  return {
    reached: reached.opened,
    restore: () => ((chats as unknown as Record<string, unknown>)[name] = original),
  };
}

/** Connects without waiting, so the test can act while the handshake is held. */
function startConnecting(token: string): { socket: ClientSocket; connected: Promise<void> } {
  const socket: ClientSocket = io(heldNode(), {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, connected };
}

describe('a membership change during the socket handshake', () => {
  it('still puts the socket in a chat created for its user meanwhile', async () => {
    const owner = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const release = gate();
    const held = holdFirstCall('handshake', release.opened);
    const b = startConnecting(bob.token);
    try {
      await held.reached;
      const group = await createGroup(owner, [bob]);
      release.open();
      await b.connected;
      await settle(b.socket);
      const got = record(b.socket, 'message:new');
      const o = await connect(server.url, owner.token);
      expect((await sendMessage(o, { chatId: group.id, content: 'can you hear me' })).ok).toBe(
        true,
      );
      await settle(b.socket);
      expect(got.map((m) => m.content)).toEqual(['can you hear me']);
    } finally {
      held.restore();
      b.socket.disconnect();
    }
  });

  it('takes the socket out of a chat its user was removed from meanwhile', async () => {
    const owner = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const group = await createGroup(owner, [bob]);
    const release = gate();
    const held = holdFirstCall('handshake', release.opened);
    const b = startConnecting(bob.token);
    try {
      await held.reached;
      expect(
        (await owner.api.delete(`/chats/${group.id}/participants/${bob.user.id}`)).status,
      ).toBe(204);
      release.open();
      await b.connected;
      await settle(b.socket);
      const got = record(b.socket, 'message:new');
      const o = await connect(server.url, owner.token);
      await sendMessage(o, { chatId: group.id, content: 'not for bob any more' });
      await settle(b.socket);
      expect(got).toEqual([]);
    } finally {
      held.restore();
      b.socket.disconnect();
    }
  });
});

describe('a sign-out during the socket handshake', () => {
  it.each([
    ['sign out everywhere', 'logout-all'],
    ['signing out that token', 'logout'],
  ])('disconnects the socket once it connects (%s)', async (_what, call) => {
    const bob = await registerUser(server.url);
    const release = gate();
    const held = holdFirstCall('handshake', release.opened);
    const b = startConnecting(bob.token);
    const ended = new Promise<string>((resolve) => b.socket.once('disconnect', resolve));
    try {
      // The token has been checked; the socket is not connected yet.
      await held.reached;
      expect((await bob.api.post(`/auth/${call}`)).status).toBe(204);
      release.open();
      await b.connected;
      expect(await ended).toBe('io server disconnect');
    } finally {
      held.restore();
      b.socket.disconnect();
    }
  });
});

describe('chat:join racing a removal', () => {
  it('refuses the join and leaves the socket outside the room', async () => {
    const owner = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const group = await createGroup(owner, [bob]);
    const b = await connect(heldNode(), bob.token);
    const release = gate();
    const held = holdFirstCall('participant', release.opened);
    try {
      const joined = emitAck(b, 'chat:join', { chatId: group.id });
      await held.reached;
      expect(
        (await owner.api.delete(`/chats/${group.id}/participants/${bob.user.id}`)).status,
      ).toBe(204);
      release.open();
      expect(await joined).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      const got = record(b, 'message:new');
      const o = await connect(server.url, owner.token);
      await sendMessage(o, { chatId: group.id, content: 'after the removal' });
      await settle(b);
      expect(got).toEqual([]);
    } finally {
      held.restore();
    }
  });
});

describe('typing:start from a socket that disconnects before it is authorized', () => {
  it('leaves no typist behind', async () => {
    const owner = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const group = await createGroup(owner, [bob]);
    const o = await connect(server.url, owner.token);
    const b = await connect(heldNode(), bob.token);
    const seen = record(o, 'typing:start');
    const release = gate();
    const held = holdFirstCall('participant', release.opened);
    try {
      b.emit('typing:start', { chatId: group.id });
      await held.reached;
      b.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 50));
      release.open();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await settle(o);
      expect(seen).toEqual([]);
    } finally {
      held.restore();
    }
  });
});

describe('a shutdown while a request whose client gave up is still writing', () => {
  it('waits for the write before closing the database', async () => {
    // One node: this is one process's shutdown, and the write held is that process's.
    const own = await startServer({}, { nodes: 1 });
    const alice = await registerUser(own.url);
    const bob = await registerUser(own.url);
    const chat = await createDirect(alice, bob);
    const messages = own.app.services.messages;
    const send = messages.send.bind(messages);
    const release = gate();
    const entered = gate();
    let outcome = 'pending';
    messages.send = async (...args) => {
      entered.open();
      await release.opened;
      try {
        const result = await send(...args);
        outcome = 'stored';
        return result;
      } catch (err) {
        outcome = `failed: ${String(err)}`;
        throw err;
      }
    };
    const aborter = new AbortController();
    const request = fetch(`${own.url}/api/chats/${chat.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'written after the client left' }),
      signal: aborter.signal,
    }).catch(() => 'aborted');
    await entered.opened;
    aborter.abort();
    expect(await request).toBe('aborted');
    const closed = own.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    release.open();
    await closed;
    expect(outcome).toBe('stored');
  });
});
