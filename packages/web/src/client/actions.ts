// What I do to messages and chats beyond sending: edit, delete, react, read an edit history,
// search, mute, and manage a group (rename, roles, remove, leave). Each goes over the socket when it is up (acknowledged), else over HTTP; the
// result is applied by the sync engine like any other change. Failures reject with words.
import { Message, type Ack, type Chat } from '@parley/protocol';
import { ApiError, api } from '../api.js';
import { emitWithAck, type TimedOut } from '../socket.js';
import { ActionError, asActionError, refusalText } from './errors.js';
import type { Session } from './session.js';

export const ACTION_TIMEOUT_MS = 15_000;

export interface ActionHooks {
  /** The server's copy after my edit. */
  edited(message: Message): void;
  /** The server's copy of a chat after my change to it. */
  chatChanged(chat: Chat): void;
  /** I left the chat: it closes and leaves the list. */
  left(chatId: string): void;
}

export interface MessageEditRecord {
  content: string;
  edited_at: string;
}

export class Actions {
  constructor(
    private readonly session: Session,
    private readonly hooks: ActionHooks,
    private readonly timeoutMs = ACTION_TIMEOUT_MS,
  ) {}

  edit(chatId: string, messageId: string, content: string): Promise<void> {
    return this.run(async () => {
      if (!this.session.socket.connected) {
        this.hooks.edited(await api.editMessage(this.session.token, chatId, messageId, content));
        return;
      }
      const payload = { chatId, messageId, content };
      const ack = refusal(
        await emitWithAck(this.session.socket, 'message:edit', payload, this.timeoutMs),
      );
      // Types are no validation: the ack's message is parsed like every event's payload.
      const parsed = Message.safeParse(ack.message);
      if (!parsed.success) throw new ActionError('The server sent an answer this app cannot read.');
      this.hooks.edited(parsed.data);
    });
  }

  /** The tombstone arrives as `message:deleted` (or by catch-up, when sent over HTTP). */
  deleteMessage(chatId: string, messageId: string): Promise<void> {
    return this.run(async () => {
      if (!this.session.socket.connected) {
        await api.deleteMessage(this.session.token, chatId, messageId);
        return;
      }
      const payload = { chatId, messageId };
      refusal(await emitWithAck(this.session.socket, 'message:delete', payload, this.timeoutMs));
    });
  }

  /** The new count arrives as `reaction:updated` (or by catch-up, when sent over HTTP). */
  react(chatId: string, messageId: string, emoji: string, op: 'add' | 'remove'): Promise<void> {
    return this.run(async () => {
      if (!this.session.socket.connected) {
        await api.react(this.session.token, chatId, messageId, emoji, op);
        return;
      }
      const event = op === 'add' ? 'reaction:add' : 'reaction:remove';
      const payload = { chatId, messageId, emoji };
      refusal(await emitWithAck(this.session.socket, event, payload, this.timeoutMs));
    });
  }

  loadEdits(chatId: string, messageId: string): Promise<MessageEditRecord[]> {
    return this.run(async () => {
      const { edits } = await api.messageEdits(this.session.token, chatId, messageId);
      return edits;
    });
  }

  searchMessages(query: {
    q: string;
    chatId?: string;
    before?: string;
  }): Promise<{ messages: Message[]; has_more: boolean }> {
    return this.run(() => api.searchMessages(this.session.token, query));
  }

  setMuted(chatId: string, muted: boolean): Promise<void> {
    return this.run(async () => {
      this.hooks.chatChanged(await api.chatSettings(this.session.token, chatId, { muted }));
    });
  }

  // Group management goes over HTTP (the socket has no such events); everyone, me included,
  // also hears the change as chat:updated, so the answer applied here only makes it show at once.

  renameGroup(chatId: string, name: string): Promise<void> {
    return this.run(async () => {
      this.hooks.chatChanged(await api.renameChat(this.session.token, chatId, name));
    });
  }

  setRole(chatId: string, userId: string, role: 'admin' | 'member'): Promise<void> {
    return this.run(async () => {
      this.hooks.chatChanged(await api.setRole(this.session.token, chatId, userId, role));
    });
  }

  /** Removes someone else from a group (to leave, `leaveChat`). */
  removeParticipant(chatId: string, userId: string): Promise<void> {
    return this.run(async () => {
      await api.removeParticipant(this.session.token, chatId, userId);
      // The answer is a 204: the server's copy comes as chat:updated; until then the list of
      // members drops the person the server has just confirmed removed.
      const held = this.session.store.getState().chats.find((c) => c.id === chatId);
      if (held?.participants.some((p) => p.id === userId)) {
        this.hooks.chatChanged({
          ...held,
          participants: held.participants.filter((p) => p.id !== userId),
        });
      }
    });
  }

  /**
   * I leave a chat, a group or a direct one; a group's owner hands it to the longest-standing
   * admin, else member.
   */
  leaveChat(chatId: string): Promise<void> {
    return this.run(async () => {
      await api.removeParticipant(this.session.token, chatId, this.session.store.getState().me.id);
      this.hooks.left(chatId);
    });
  }

  private async run<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'unauthorized') this.session.endSession();
      throw asActionError(err);
    }
  }
}

/** An acknowledgement's success, or its refusal thrown in words. */
function refusal<A extends object>(ack: Ack<A> | TimedOut): { ok: true } & A {
  if (ack.ok) return ack;
  throw new ActionError(refusalText(ack));
}
