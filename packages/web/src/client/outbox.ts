// My messages on their way: shown at once, sent over the socket with a clientMessageId, and
// shown as they truly are. A message is "sending" until the server stores it (its ack) or refuses
// it; only a refusal makes it "failed", with Retry. Sends go out only over a live connection:
// socket.io's own buffer would deliver, on reconnect, a message already shown as failed, and a
// person who typed it again would send it twice. What is pending instead waits here, and goes
// (again) on every connect under the same clientMessageId, which the server stores once.
import type { Message } from '@parley/protocol';
import { emitWithAck, newClientMessageId } from '../socket.js';
import type { Outgoing } from '../state.js';
import { refusalText } from './errors.js';
import type { Session } from './session.js';

/** How long an ack may take before the send goes again (same id) over the same connection. */
export const SEND_TIMEOUT_MS = 15_000;

export interface OutboxHooks {
  /** The server stored it: the acknowledged message, applied like any other. */
  stored(message: Message): void;
  /** A send began: the draft is no longer being typed. */
  sending(chatId: string): void;
}

export class Outbox {
  /** The attempt on the wire per clientMessageId, on the current connection. */
  private readonly inFlight = new Map<string, number>();
  private attemptSeq = 0;

  constructor(
    private readonly session: Session,
    private readonly hooks: OutboxHooks,
    private readonly timeoutMs = SEND_TIMEOUT_MS,
  ) {
    const { socket } = session;
    // An ack owed on a dropped connection never comes: what was in flight goes again on the next.
    socket.on('disconnect', () => this.inFlight.clear());
    socket.on('connect', () => this.redeliver());
  }

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
    this.deliver(outgoing);
  }

  /** Sends a refused message again with the same clientMessageId: the server stores it once. */
  retry(chatId: string, clientMessageId: string): void {
    const outgoing = this.find(chatId, clientMessageId);
    if (!outgoing || outgoing.status === 'sending') return;
    this.set(chatId, clientMessageId, { status: 'sending', error: null });
    this.deliver(outgoing);
  }

  /**
   * On (re)connect: every pending send not already on this connection goes, under its
   * clientMessageId; the server stores each once, whichever copy arrives first. Safe to call
   * more than once.
   */
  redeliver(): void {
    for (const list of Object.values(this.session.store.getState().outgoing)) {
      for (const o of list) if (o.status === 'sending') this.deliver(o);
    }
  }

  private find(chatId: string, clientMessageId: string): Outgoing | undefined {
    return this.session.store
      .getState()
      .outgoing[chatId]?.find((o) => o.clientMessageId === clientMessageId);
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

  /** Puts the send on the wire if the connection is up and it is not there already. */
  private deliver(outgoing: Outgoing): void {
    const id = outgoing.clientMessageId;
    if (!this.session.socket.connected || this.inFlight.has(id)) return;
    const attempt = ++this.attemptSeq;
    this.inFlight.set(id, attempt);
    void this.await(outgoing, attempt);
  }

  private async await(outgoing: Outgoing, attempt: number): Promise<void> {
    const { chatId, clientMessageId: id } = outgoing;
    const result = await emitWithAck(
      this.session.socket,
      'message:send',
      {
        chatId,
        content: outgoing.content,
        clientMessageId: id,
        ...(outgoing.replyToId ? { replyToId: outgoing.replyToId } : {}),
      },
      this.timeoutMs,
    );
    const current = this.inFlight.get(id) === attempt;
    if (current) this.inFlight.delete(id);
    if (result.ok) {
      // Stored: true whichever attempt says so.
      this.hooks.stored(result.message);
    } else if ('timedOut' in result) {
      // No answer is no refusal: the message may be stored already. It stays "sending" and goes
      // again, same id, now if the connection still looks alive, else on the next connect.
      if (current && this.find(chatId, id)?.status === 'sending') this.deliver(outgoing);
    } else if ((current || !this.inFlight.has(id)) && this.find(chatId, id)?.status === 'sending') {
      // Refused: the server stored nothing, and says why. Retry is the person's to choose. (An
      // older copy's refusal does not overrule a newer copy still on its way.)
      const error = refusalText(result);
      this.set(chatId, id, { status: 'failed', error });
    }
  }
}
