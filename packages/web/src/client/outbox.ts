// My messages on their way: shown at once, sent over the socket with a clientMessageId, marked
// failed when refused or unanswered, sent again (same id, stored once) on retry or reconnect.
import type { Message } from '@parley/protocol';
import { describeError } from '../api.js';
import { newClientMessageId, sendMessage } from '../socket.js';
import type { Outgoing } from '../state.js';
import type { Session } from './session.js';

export const SEND_TIMEOUT_MS = 15_000;

export interface OutboxHooks {
  /** The server stored it: the acknowledged message, applied like any other. */
  stored(message: Message): void;
  /** A send began: the draft is no longer being typed. */
  sending(chatId: string): void;
}

export class Outbox {
  /** The latest attempt per clientMessageId: only its outcome counts. */
  private readonly attempts = new Map<string, number>();

  constructor(
    private readonly session: Session,
    private readonly hooks: OutboxHooks,
    private readonly timeoutMs = SEND_TIMEOUT_MS,
  ) {}

  send(chatId: string, content: string, options: { replyToId?: string } = {}): void {
    const outgoing: Outgoing = {
      clientMessageId: newClientMessageId(),
      chatId,
      content,
      createdAt: new Date().toISOString(),
      status: 'sending',
      error: null,
      replyToId: options.replyToId ?? null,
    };
    this.session.store.update((s) => ({
      ...s,
      outgoing: { ...s.outgoing, [chatId]: [...(s.outgoing[chatId] ?? []), outgoing] },
    }));
    this.hooks.sending(chatId);
    void this.deliver(outgoing);
  }

  /** Sends a failed message again with the same clientMessageId: the server stores it once. */
  retry(chatId: string, clientMessageId: string): void {
    const outgoing = this.session.store
      .getState()
      .outgoing[chatId]?.find((o) => o.clientMessageId === clientMessageId);
    if (!outgoing || outgoing.status === 'sending') return;
    this.set(chatId, clientMessageId, { status: 'sending', error: null });
    void this.deliver(outgoing);
  }

  /**
   * After a reconnect: sends whose acknowledgement died with the old connection go again, under
   * the same clientMessageId; the server stores each once, whichever copy arrives first.
   */
  redeliver(): void {
    for (const list of Object.values(this.session.store.getState().outgoing)) {
      for (const o of list) if (o.status === 'sending') void this.deliver(o);
    }
  }

  private set(chatId: string, clientMessageId: string, change: Partial<Outgoing>): void {
    this.session.store.update((s) => ({
      ...s,
      outgoing: {
        ...s.outgoing,
        [chatId]: (s.outgoing[chatId] ?? []).map((o) =>
          o.clientMessageId === clientMessageId ? { ...o, ...change } : o,
        ),
      },
    }));
  }

  private async deliver(outgoing: Outgoing): Promise<void> {
    // Only the latest attempt's outcome counts: an older one timing out must not mark failed
    // a message that a newer attempt is still delivering.
    const attempt = (this.attempts.get(outgoing.clientMessageId) ?? 0) + 1;
    this.attempts.set(outgoing.clientMessageId, attempt);
    const result = await sendMessage(
      this.session.socket,
      {
        chatId: outgoing.chatId,
        content: outgoing.content,
        clientMessageId: outgoing.clientMessageId,
        ...(outgoing.replyToId ? { replyToId: outgoing.replyToId } : {}),
      },
      this.timeoutMs,
    );
    const latest = this.attempts.get(outgoing.clientMessageId) === attempt;
    if (result.ok) {
      this.attempts.delete(outgoing.clientMessageId);
      this.hooks.stored(result.message);
    } else if (latest) {
      this.attempts.delete(outgoing.clientMessageId);
      const error =
        'timedOut' in result
          ? describeError('timeout')
          : describeError(result.error.code, result.error.message);
      this.set(outgoing.chatId, outgoing.clientMessageId, { status: 'failed', error });
    }
  }
}
