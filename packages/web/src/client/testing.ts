// Test doubles for the client's modules (used by the *.test.ts files beside them only): a socket
// that records what the client emits and lets a test play the server's events, and a `fetch`
// that answers the REST calls a test routes.
import type {
  Chat,
  Me,
  Message,
  MessageDeletedEvent,
  ReactionUpdatedEvent,
  User,
} from '@parley/protocol';
import { vi } from 'vitest';
import type { ParleySocket } from '../socket.js';
import { applyReactionEvent, replyPreview } from '../state.js';
import * as f from '../test/factories.js';
import { Session } from './session.js';
import { Store } from './store.js';

type Listener = (...args: unknown[]) => void;
type AckAnswer = Record<string, unknown> | undefined;

export interface Emitted {
  event: string;
  payload: unknown;
}

export class FakeSocket {
  connected = false;
  active = false;
  readonly emitted: Emitted[] = [];
  private readonly listeners = new Map<string, Listener[]>();
  /** How the "server" answers a client event's ack; none: the ack never comes. */
  readonly answers = new Map<string, (payload: unknown) => AckAnswer>();

  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  emit(event: string, payload: unknown, ack?: (answer: unknown) => void): this {
    this.emitted.push({ event, payload });
    const answer = this.answers.get(event);
    if (answer && ack) {
      const value = answer(payload);
      if (value !== undefined) queueMicrotask(() => ack(value));
    }
    return this;
  }

  connect(): this {
    return this;
  }

  disconnect(): this {
    this.connected = false;
    return this;
  }

  removeAllListeners(): this {
    this.listeners.clear();
    return this;
  }

  /** The server sends an event (or socket.io reports one: connect, disconnect, ...). */
  serverEmit(event: string, ...args: unknown[]): void {
    if (event === 'connect') this.connected = true;
    if (event === 'disconnect') this.connected = false;
    for (const l of this.listeners.get(event) ?? []) l(...args);
  }

  sent(event: string): unknown[] {
    return this.emitted.filter((e) => e.event === event).map((e) => e.payload);
  }

  asSocket(): ParleySocket {
    return this as unknown as ParleySocket;
  }
}

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** The Authorization header it carried, if any. */
  authorization: string | null;
}

type Handler = (
  call: Call,
) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }>;

/** Stands in for `fetch`: routes `METHOD /api/path` to handlers; anything else is a 404. */
export class FakeServer {
  readonly calls: Call[] = [];
  private readonly routes: { method: string; path: RegExp; handler: Handler }[] = [];

  route(method: string, path: RegExp, handler: Handler): this {
    this.routes.unshift({ method, path, handler });
    return this;
  }

  install(): void {
    vi.stubGlobal('fetch', async (input: string, init: RequestInit = {}) => {
      const url = new URL(input, 'http://parley.test');
      const call: Call = {
        method: init.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        body: typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined,
        authorization: new Headers(init.headers).get('authorization'),
      };
      this.calls.push(call);
      const route = this.routes.find((r) => r.method === call.method && r.path.test(call.path));
      const answer = route
        ? await route.handler(call)
        : { status: 404, body: { error: { code: 'not_found', message: 'no such route' } } };
      return new Response(answer.status === 204 ? null : JSON.stringify(answer.body ?? null), {
        status: answer.status,
        headers: { 'content-type': 'application/json' },
      });
    });
  }

  called(method: string, path: RegExp): Call[] {
    return this.calls.filter((c) => c.method === method && path.test(c.path));
  }
}

/** A session over a fake socket, for one module under test. */
export function fakeSession(me: Me) {
  const socket = new FakeSocket();
  const store = new Store(me);
  const ended = vi.fn();
  const session = new Session('token', store, socket.asSocket(), ended);
  return { socket, store, session, ended };
}

/** Lets pending promises and microtasks (acks, fetch answers) run. */
export const settle = async (rounds = 10): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setTimeout(r, 0));
};

/**
 * One chat as the server keeps it, for tests of history and catch-up: messages with seq and
 * version, changes (edit, delete, reaction) that bump the chat's version as the contract says,
 * and the REST calls that read them.
 */
export class FakeChat {
  version = 0;
  readonly messages: Message[] = [];

  constructor(readonly chat: Chat) {}

  private bump(): number {
    this.version += 1;
    return this.version;
  }

  send(sender: User, content?: string, extra: Partial<Message> = {}): Message {
    const seq = this.messages.length + 1;
    const m = { ...f.message(this.chat, sender, seq, content), version: this.bump(), ...extra };
    this.messages.push(m);
    return m;
  }

  private replace(id: string, change: (m: Message) => Message): Message {
    const i = this.messages.findIndex((m) => m.id === id);
    const next = { ...change(this.messages[i]!), version: this.bump() };
    this.messages[i] = next;
    // A reply's quote follows the answered message, its own version unchanged.
    for (const [j, m] of this.messages.entries()) {
      if (m.reply_to?.id === id) this.messages[j] = { ...m, reply_to: replyPreview(next) };
    }
    return next;
  }

  edit(id: string, content: string): Message {
    return this.replace(id, (m) => ({ ...m, content, edited_at: '2026-01-02T00:00:00.000Z' }));
  }

  remove(id: string): MessageDeletedEvent {
    const m = this.replace(id, (m) => ({
      ...m,
      content: '',
      deleted_at: '2026-01-02T00:00:00.000Z',
      reactions: [],
      mentions: [],
      attachments: [],
    }));
    return {
      chatId: m.chat_id,
      messageId: m.id,
      seq: m.seq,
      version: m.version,
      deletedAt: m.deleted_at!,
    };
  }

  react(id: string, userId: string, emoji: string, op: 'add' | 'remove'): ReactionUpdatedEvent {
    const held = this.messages.find((m) => m.id === id)!;
    const r = held.reactions.find((x) => x.emoji === emoji);
    const ids = r?.user_ids ?? [];
    const count =
      op === 'add' ? new Set([...ids, userId]).size : ids.filter((u) => u !== userId).length;
    const m = this.replace(id, (m) => ({
      ...m,
      reactions: applyReactionEvent(m.reactions, { emoji, userId, op, count }),
    }));
    return { chatId: m.chat_id, messageId: m.id, emoji, userId, op, count, version: m.version };
  }

  current(): Chat {
    return { ...this.chat, last_message: this.messages.at(-1) ?? null, version: this.version };
  }

  /** Routes GET messages (before/after/limit) and GET changes (since/limit) for this chat. */
  serve(server: FakeServer): void {
    const base = `/api/chats/${this.chat.id}`;
    server.route('GET', new RegExp(`^${base}/messages$`), (call) => {
      const all = this.messages;
      const limit = Number(call.query.get('limit') ?? 50);
      const before = call.query.get('before');
      const after = call.query.get('after');
      if (after) {
        const from = all.findIndex((m) => m.id === after) + 1;
        const page = all.slice(from, from + limit);
        return { status: 200, body: { messages: page, has_more: from + limit < all.length } };
      }
      const end = before ? all.findIndex((m) => m.id === before) : all.length;
      const page = all.slice(Math.max(0, end - limit), end);
      return { status: 200, body: { messages: page, has_more: end - limit > 0 } };
    });
    server.route('GET', new RegExp(`^${base}/changes$`), (call) => {
      const since = Number(call.query.get('since'));
      const limit = Number(call.query.get('limit') ?? 200);
      const changed = this.messages
        .filter((m) => m.version > since)
        .sort((a, b) => a.version - b.version);
      const page = changed.slice(0, limit);
      return {
        status: 200,
        body: {
          messages: page,
          version: page.at(-1)?.version ?? since,
          has_more: changed.length > limit,
        },
      };
    });
  }
}
