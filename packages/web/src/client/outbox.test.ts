import type { Message } from '@parley/protocol';
import { describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { Outbox } from './outbox.js';
import { fakeSession, settle } from './testing.js';

/** An outbox over a fake socket; connected unless told otherwise. */
function setup({ timeoutMs = 1_000, connected = true } = {}) {
  const alice = f.me({ username: 'alice' });
  const chat = f.chat([alice, f.user()]);
  const env = fakeSession(alice);
  const stored = vi.fn<(m: Message) => void>();
  const sending = vi.fn();
  const outbox = new Outbox(env.session, { stored, sending }, timeoutMs);
  if (connected) env.socket.serverEmit('connect');
  /** The server stores each clientMessageId once and acks its first copy again. */
  const storeOnce = () => {
    const byId = new Map<string, Message>();
    env.socket.answers.set('message:send', (p) => {
      const { clientMessageId } = p as { clientMessageId: string };
      const message = byId.get(clientMessageId) ?? {
        ...f.message(chat, alice, byId.size + 1),
        client_message_id: clientMessageId,
      };
      byId.set(clientMessageId, message);
      return { ok: true, message };
    });
    return byId;
  };
  const ids = () =>
    (env.socket.sent('message:send') as { clientMessageId: string }[]).map(
      (s) => s.clientMessageId,
    );
  const pending = () => env.store.getState().outgoing[chat.id] ?? [];
  return { ...env, alice, chat, outbox, stored, sending, storeOnce, ids, pending };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the outbox', () => {
  it('shows a send at once and hands over the stored message on acknowledgement', async () => {
    const { socket, chat, outbox, stored, sending, storeOnce, pending } = setup();
    storeOnce();
    outbox.send(chat.id, 'hello', { replyToId: '00000000-0000-4000-8000-0000000000aa' });
    expect(sending).toHaveBeenCalledWith(chat.id);
    expect(pending()).toMatchObject([
      { content: 'hello', status: 'sending', replyToId: '00000000-0000-4000-8000-0000000000aa' },
    ]);
    expect(socket.sent('message:send')).toMatchObject([
      { chatId: chat.id, content: 'hello', replyToId: '00000000-0000-4000-8000-0000000000aa' },
    ]);
    await settle();
    expect(stored).toHaveBeenCalledTimes(1);
  });

  it('leaves replyToId out of a plain send', () => {
    const { socket, chat, outbox } = setup();
    outbox.send(chat.id, 'plain');
    expect(socket.sent('message:send')[0]).not.toHaveProperty('replyToId');
  });

  it('marks a refused send "Not sent" in words, and retries it under the same id', async () => {
    const { socket, chat, outbox, ids, pending } = setup();
    socket.answers.set('message:send', () => ({
      ok: false,
      error: { code: 'rate_limited', message: 'slow down' },
    }));
    outbox.send(chat.id, 'hello');
    await settle();
    const [failed] = pending();
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(/too fast/) });
    socket.answers.delete('message:send');
    outbox.retry(chat.id, failed!.clientMessageId);
    expect(ids()).toEqual([failed!.clientMessageId, failed!.clientMessageId]);
    expect(pending()[0]?.status).toBe('sending');
  });

  it('while offline keeps a send "sending", off the wire, and sends it once on connect', async () => {
    // The defect: socket.io buffered the send, the timeout said "Not sent", and the buffer then
    // delivered it anyway on reconnect; typing it again sent it twice.
    const { socket, chat, outbox, stored, storeOnce, ids, pending } = setup({
      timeoutMs: 5,
      connected: false,
    });
    const server = storeOnce();
    outbox.send(chat.id, 'while the server is down');
    await wait(30); // several timeouts' worth
    expect(ids()).toEqual([]); // nothing handed to socket.io's buffer
    expect(pending()).toMatchObject([{ status: 'sending', error: null }]);
    socket.serverEmit('connect');
    outbox.redeliver(); // the façade's own reconnect call too: still one copy
    expect(ids()).toEqual([pending()[0]!.clientMessageId]);
    await settle();
    expect(stored).toHaveBeenCalledTimes(1);
    expect(server.size).toBe(1);
  });

  it('keeps an unanswered send "sending" and sends it again, same id, never "Not sent"', async () => {
    const { socket, chat, outbox, ids, pending } = setup({ timeoutMs: 5 });
    outbox.send(chat.id, 'lost'); // no answer comes
    await wait(30);
    expect(pending()).toMatchObject([{ status: 'sending', error: null }]);
    const [id] = ids();
    expect(ids().length).toBeGreaterThan(1);
    expect(new Set(ids())).toEqual(new Set([id]));
    socket.serverEmit('disconnect', 'transport close');
    expect(pending()[0]?.status).toBe('sending');
  });

  it('sends again, once and under the same id, what was in flight when the connection dropped', async () => {
    const { socket, chat, outbox, stored, storeOnce, ids } = setup();
    outbox.send(chat.id, 'one'); // its ack dies with the connection
    socket.serverEmit('disconnect', 'transport close');
    storeOnce();
    socket.serverEmit('connect');
    outbox.redeliver();
    const sent = ids();
    expect(sent).toHaveLength(2);
    expect(sent[0]).toBe(sent[1]);
    await settle();
    expect(stored).toHaveBeenCalledTimes(1);
  });

  it('holds a retry made offline until the connection is back', async () => {
    const { socket, chat, outbox, ids, pending } = setup();
    socket.answers.set('message:send', () => ({
      ok: false,
      error: { code: 'internal', message: 'oops' },
    }));
    outbox.send(chat.id, 'hello');
    await settle();
    socket.serverEmit('disconnect', 'transport close');
    outbox.retry(chat.id, pending()[0]!.clientMessageId);
    expect(pending()[0]).toMatchObject({ status: 'sending', error: null });
    expect(ids()).toHaveLength(1);
    socket.serverEmit('connect');
    expect(ids()).toHaveLength(2);
  });
});
