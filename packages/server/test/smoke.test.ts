import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, createDirect, registerUser, sendMessage, waitFor } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  closeSockets();
  await server.close();
});

describe('smoke', () => {
  it('delivers a message from one user to another', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const arrived = waitFor(b, 'message:new');
    const ack = await sendMessage(a, { chatId: chat.id, content: 'hi bob', clientMessageId: 'c1' });
    expect(ack.ok).toBe(true);
    const msg = await arrived;
    expect(msg).toMatchObject({ content: 'hi bob', seq: 1, sender: { username: alice.user.username } });
  });
});
