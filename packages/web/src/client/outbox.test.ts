import type { Message } from '@parley/protocol';
import { describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { Outbox } from './outbox.js';
import { fakeSession, settle } from './testing.js';

function setup(timeoutMs = 1_000) {
  const alice = f.me({ username: 'alice' });
  const chat = f.chat([alice, f.user()]);
  const env = fakeSession(alice);
  const stored = vi.fn<(m: Message) => void>();
  const sending = vi.fn();
  const outbox = new Outbox(env.session, { stored, sending }, timeoutMs);
  return { ...env, alice, chat, outbox, stored, sending };
}

describe('the outbox', () => {
  it('shows a send at once and hands over the stored message on acknowledgement', async () => {
    const { socket, store, alice, chat, outbox, stored, sending } = setup();
    socket.answers.set('message:send', (p) => {
      const payload = p as { clientMessageId: string };
      return {
        ok: true,
        message: { ...f.message(chat, alice, 1), client_message_id: payload.clientMessageId },
      };
    });
    outbox.send(chat.id, 'hello', { replyToId: '00000000-0000-4000-8000-0000000000aa' });
    expect(sending).toHaveBeenCalledWith(chat.id);
    expect(store.getState().outgoing[chat.id]).toMatchObject([
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

  it('marks a refused send failed in words, and retries it under the same id', async () => {
    const { socket, store, chat, outbox } = setup();
    socket.answers.set('message:send', () => ({
      ok: false,
      error: { code: 'rate_limited', message: 'slow down' },
    }));
    outbox.send(chat.id, 'hello');
    await settle();
    const [failed] = store.getState().outgoing[chat.id]!;
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(/too fast/) });
    socket.answers.delete('message:send');
    outbox.retry(chat.id, failed!.clientMessageId);
    const sends = socket.sent('message:send') as { clientMessageId: string }[];
    expect(sends.map((s) => s.clientMessageId)).toEqual([
      failed!.clientMessageId,
      failed!.clientMessageId,
    ]);
    expect(store.getState().outgoing[chat.id]?.[0]?.status).toBe('sending');
  });

  it('marks a send failed when no acknowledgement comes in time', async () => {
    const { store, chat, outbox } = setup(5);
    outbox.send(chat.id, 'lost');
    await new Promise((r) => setTimeout(r, 20));
    expect(store.getState().outgoing[chat.id]?.[0]).toMatchObject({
      status: 'failed',
      error: 'The server did not answer in time.',
    });
  });

  it('sends again what was in flight when the connection came back', () => {
    const { socket, chat, outbox } = setup();
    outbox.send(chat.id, 'one');
    outbox.redeliver();
    const sends = socket.sent('message:send') as { clientMessageId: string }[];
    expect(sends).toHaveLength(2);
    expect(sends[0]?.clientMessageId).toBe(sends[1]?.clientMessageId);
  });
});
