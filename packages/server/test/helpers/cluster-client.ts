import { io } from 'socket.io-client';
import type { Ack, Message, MessagePage, UserStatusEvent } from '@parley/protocol';
import { api, type ClientSocket, type TestUser } from './client.js';
import { sleep } from './process.js';

/**
 * A user of a multi-process server as a client app would be: one socket at a time (or a few
 * tabs), moved to another process by the test when its process dies, hearing everything on
 * whichever process it is. What it heard is kept with the time it arrived, for what a user would
 * notice: a message missing or shown twice, a contact's status late or wrong.
 */

export interface Heard<T> {
  /** Date.now() on arrival. */
  at: number;
  /** The process whose socket heard it. */
  node: number;
  event: T;
}

export class ClusterClient {
  /** The socket it sends on; earlier ones (closed) and tabs keep reporting what they hear. */
  socket: ClientSocket | undefined;
  node = -1;
  readonly messages: Heard<Message>[] = [];
  readonly statuses: Heard<UserStatusEvent>[] = [];
  private readonly sockets = new Set<ClientSocket>();

  constructor(
    readonly user: TestUser,
    readonly name: string,
  ) {}

  get id(): string {
    return this.user.user.id;
  }

  /**
   * Opens a socket to the process at `url` (index `node`); unless `tab`, it becomes the socket
   * this client sends on. Rejects with the connect_error of a refused handshake.
   */
  async connect(url: string, node: number, { tab = false } = {}): Promise<ClientSocket> {
    const socket: ClientSocket = io(url, {
      auth: { token: this.user.token },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    this.sockets.add(socket);
    socket.on('message:new', (event) => this.messages.push({ at: Date.now(), node, event }));
    socket.on('user:status', (event) => this.statuses.push({ at: Date.now(), node, event }));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
    } catch (err) {
      socket.disconnect();
      this.sockets.delete(socket);
      throw err;
    }
    if (!tab) {
      this.socket = socket;
      this.node = node;
    }
    return socket;
  }

  /** What this user heard of `userId`'s status, from `since` (Date.now()) on. */
  statusesOf(userId: string, since = 0): Heard<UserStatusEvent>[] {
    return this.statuses.filter((s) => s.event.userId === userId && s.at >= since);
  }

  /** Resolves with the time the first status `status` of `userId` arrived at or after `since`. */
  async waitForStatus(
    userId: string,
    status: 'online' | 'offline',
    since: number,
    timeoutMs: number,
  ): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.statusesOf(userId, since).find((s) => s.event.status === status);
      if (found) return found.at;
      if (Date.now() > deadline) return undefined;
      await sleep(25);
    }
  }

  /** Resolves once a message:new for which `match` holds has arrived (within `timeoutMs`). */
  async waitForMessage(
    match: (m: Message) => boolean,
    timeoutMs: number,
  ): Promise<Heard<Message> | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find((h) => match(h.event));
      if (found) return found;
      if (Date.now() > deadline) return undefined;
      await sleep(10);
    }
  }

  /** The user's REST client, talking to the process at `url`. */
  api(url: string) {
    return api(url, this.user.token);
  }

  close(): void {
    for (const s of this.sockets) s.disconnect();
    this.sockets.clear();
    this.socket = undefined;
  }
}

// --- Sending through failures -------------------------------------------------------------

/** How one attempt of a send ended, as the client saw it. */
export type Outcome =
  | { kind: 'ok'; message: Message }
  | { kind: 'error'; code: string }
  /** The socket closed first (or was closed already: then nothing was sent). */
  | { kind: 'closed'; emitted: boolean }
  /** No answer within the time a client waits. */
  | { kind: 'hung' };

export interface Attempt {
  node: number;
  /** Date.now() when it was emitted and when it was answered. */
  askedAt: number;
  answeredAt: number;
  outcome: Outcome;
}

export interface Send {
  client: ClusterClient;
  chatId: string;
  clientMessageId: string;
  content: string;
  attempts: Attempt[];
}

/** The message a send was acked with, at its first ack. */
export const ackedMessage = (send: Send): Message | undefined => {
  const ok = send.attempts.find((a) => a.outcome.kind === 'ok');
  return ok?.outcome.kind === 'ok' ? ok.outcome.message : undefined;
};

const HUNG_MS = 10_000;

/** `message:send` on the client's socket, settled by its ack, its socket's close, or HUNG_MS. */
export function attemptSend(client: ClusterClient, send: Send): Promise<Attempt> {
  const socket = client.socket;
  const node = client.node;
  const askedAt = Date.now();
  if (!socket?.connected) {
    return Promise.resolve({
      node,
      askedAt,
      answeredAt: askedAt,
      outcome: { kind: 'closed', emitted: false },
    });
  }
  return new Promise((resolve) => {
    const done = (outcome: Outcome) => {
      clearTimeout(timer);
      socket.off('disconnect', onClose);
      resolve({ node, askedAt, answeredAt: Date.now(), outcome });
    };
    const timer = setTimeout(() => done({ kind: 'hung' }), HUNG_MS);
    const onClose = () => done({ kind: 'closed', emitted: true });
    socket.once('disconnect', onClose);
    (socket.emit as (e: string, p: unknown, cb: (r: Ack<{ message: Message }>) => void) => void)(
      'message:send',
      { chatId: send.chatId, content: send.content, clientMessageId: send.clientMessageId },
      (ack) =>
        done(
          ack.ok ? { kind: 'ok', message: ack.message } : { kind: 'error', code: ack.error.code },
        ),
    );
  });
}

export interface LoadOptions {
  /** Pause after each answered send. */
  pauseMs: number;
  /**
   * The client's socket closed under a send: route it to another process and resolve true to
   * resend the same message there (same clientMessageId), or false to stop this client (what it
   * was sending stays in its outbox).
   */
  onClosed?: (client: ClusterClient) => Promise<boolean>;
  /** Called as each attempt ends. */
  onAttempt?: (send: Send, attempt: Attempt) => void;
}

/**
 * Each client sends one message after another into its chat until `stop()`: a send whose socket
 * closed is resent after `onClosed` routed the client (an outbox); one refused or unanswered is
 * left as it is and the client goes on with the next (the test resends those itself, later).
 */
export function startLoad(
  senders: { client: ClusterClient; chatId: string; prefix: string }[],
  options: LoadOptions,
) {
  const sends: Send[] = [];
  let stopped = false;
  const running = senders.map(async ({ client, chatId, prefix }) => {
    for (let i = 1; !stopped; i++) {
      const send: Send = {
        client,
        chatId,
        clientMessageId: `${prefix}-${i}`,
        content: `${prefix} message ${i}`,
        attempts: [],
      };
      sends.push(send);
      for (;;) {
        const attempt = await attemptSend(client, send);
        send.attempts.push(attempt);
        options.onAttempt?.(send, attempt);
        if (attempt.outcome.kind !== 'closed') break;
        if (!options.onClosed || !(await options.onClosed(client))) return;
      }
      await sleep(options.pauseMs);
    }
  });
  return {
    sends,
    acks: () => sends.filter((s) => ackedMessage(s)).length,
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
}

/**
 * Resends every send that was never acked, same clientMessageId, on the client's current socket,
 * until each is acked (a client's outbox flushed): `unavailable` is retried for up to 20 s.
 */
export async function flushOutboxes(sends: Send[]): Promise<string[]> {
  const problems: string[] = [];
  const byClient = new Map<ClusterClient, Send[]>();
  for (const send of sends) {
    if (ackedMessage(send)) continue;
    byClient.set(send.client, [...(byClient.get(send.client) ?? []), send]);
  }
  await Promise.all(
    [...byClient].map(async ([client, pending]) => {
      for (const send of pending) {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const attempt = await attemptSend(client, send);
          send.attempts.push(attempt);
          if (attempt.outcome.kind === 'ok') break;
          const retry = attempt.outcome.kind === 'error' && attempt.outcome.code === 'unavailable';
          if (!retry || Date.now() > deadline) {
            problems.push(`${send.clientMessageId}: resend ${JSON.stringify(attempt.outcome)}`);
            break;
          }
          await sleep(100);
        }
      }
    }),
  );
  return problems;
}

// --- What the database holds, and what each member ends with --------------------------------

async function page(reader: ReturnType<typeof api>, chatId: string, query: string) {
  const res = await reader.get<MessagePage>(`/chats/${chatId}/messages?limit=100${query}`);
  if (res.status !== 200) throw new Error(`history: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Every message after `afterId` (the whole history when undefined), oldest first. */
export async function messagesAfter(
  reader: ReturnType<typeof api>,
  chatId: string,
  afterId: string | undefined,
): Promise<Message[]> {
  const out: Message[] = [];
  if (afterId === undefined) {
    // No cursor answers the newest page: walk back to the first message, then forward from it.
    let current = await page(reader, chatId, '');
    let back = current.messages;
    while (current.has_more && back[0]) {
      current = await page(reader, chatId, `&before=${back[0].id}`);
      back = [...current.messages, ...back];
    }
    return back;
  }
  for (let cursor = afterId; ;) {
    const current = await page(reader, chatId, `&after=${cursor}`);
    out.push(...current.messages);
    const last = current.messages.at(-1);
    if (!current.has_more || !last) return out;
    cursor = last.id;
  }
}

/**
 * Problems with the stored history against what the senders were told: seq 1..N without a gap,
 * each (sender, clientMessageId) once, every acked message there with the id and seq of its ack,
 * and nothing stored that no client ever emitted.
 */
export function historyProblems(history: Message[], sends: Send[]): string[] {
  const problems: string[] = [];
  history.forEach((m, i) => {
    if (m.seq !== i + 1) problems.push(`history position ${i + 1} holds seq ${m.seq}`);
  });
  const byKey = new Map<string, Message[]>();
  for (const m of history) {
    const key = `${m.sender_id}/${m.client_message_id}`;
    byKey.set(key, [...(byKey.get(key) ?? []), m]);
  }
  for (const [key, list] of byKey) {
    if (list.length > 1) problems.push(`${key} stored ${list.length} times`);
  }
  const byId = new Map(history.map((m) => [m.id, m]));
  for (const send of sends) {
    const acked = ackedMessage(send);
    if (!acked) continue;
    const stored = byId.get(acked.id);
    if (!stored) problems.push(`${send.clientMessageId}: acked as seq ${acked.seq}, not stored`);
    else if (stored.seq !== acked.seq || stored.content !== send.content)
      problems.push(`${send.clientMessageId}: acked as seq ${acked.seq}, stored as ${stored.seq}`);
  }
  const emitted = new Set(
    sends
      .filter((s) => s.attempts.some((a) => a.outcome.kind !== 'closed' || a.outcome.emitted))
      .map((s) => `${s.client.id}/${s.clientMessageId}`),
  );
  for (const key of byKey.keys()) {
    if (!emitted.has(key)) problems.push(`${key}: stored, yet never sent`);
  }
  return problems;
}

/**
 * What one member ends with: the messages it heard live, plus a catch-up by seq from the last
 * one it holds without a gap (as a reconnecting client asks), must be the chat's whole history,
 * and it must have heard no message twice nor one the history does not hold.
 */
export async function memberProblems(
  client: ClusterClient,
  chatId: string,
  history: Message[],
  reader: ReturnType<typeof api>,
): Promise<string[]> {
  const problems: string[] = [];
  const heard = client.messages.filter((h) => h.event.chat_id === chatId).map((h) => h.event);
  const counts = new Map<string, number>();
  for (const m of heard) counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
  for (const [id, n] of counts) if (n > 1) problems.push(`${client.name} heard ${id} ${n} times`);
  for (const m of heard) {
    if (history[m.seq - 1]?.id !== m.id)
      problems.push(`${client.name} heard an unknown seq ${m.seq}`);
  }
  const held = new Set(heard.map((m) => m.seq));
  let prefix = 0;
  while (held.has(prefix + 1)) prefix++;
  const caught = await messagesAfter(reader, chatId, history[prefix - 1]?.id);
  for (const m of caught) {
    if (history[m.seq - 1]?.id !== m.id)
      problems.push(`${client.name} caught up an unknown seq ${m.seq}`);
    held.add(m.seq);
  }
  const missing = history.filter((m) => !held.has(m.seq)).map((m) => m.seq);
  if (missing.length) problems.push(`${client.name} never got seq ${missing.join(',')}`);
  return problems;
}

/** Those of `ids` that `reader` sees as online in the chat's participants. */
export async function onlineIn(
  reader: ReturnType<typeof api>,
  chatId: string,
  ids: string[],
): Promise<string[]> {
  const res = await reader.get<{ participants: { id: string; status: string | null }[] }>(
    `/chats/${chatId}`,
  );
  if (res.status !== 200) throw new Error(`chat: ${res.status}`);
  return res.body.participants
    .filter((p) => ids.includes(p.id) && p.status === 'online')
    .map((p) => p.id);
}
