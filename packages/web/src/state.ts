// The client's view of the world and the pure rules that move it. No I/O here: `ChatClient`
// feeds these functions what the server says, and React renders what they return.
import type {
  Chat,
  Me,
  Message,
  MessageReadEvent,
  Participant,
  User,
  UserStatusEvent,
} from '@parley/protocol';

export type Connection = 'connecting' | 'online' | 'offline';

/** A message of one's own that the server has not acknowledged yet (or refused). */
export interface Outgoing {
  clientMessageId: string;
  chatId: string;
  content: string;
  createdAt: string;
  status: 'sending' | 'failed';
  error: string | null;
  /** The message this one answers, if any. */
  replyToId: string | null;
}

/** The part of a chat's history this client holds: always a contiguous run of `seq`. */
export interface History {
  messages: Message[];
  /** Older messages exist on the server. */
  hasMore: boolean;
  loading: boolean;
  loaded: boolean;
  error: string | null;
  /**
   * The chat version the held messages are current to: every change up to it is in them.
   * Catch-up asks the server for what changed after it (`changes?since`).
   */
  version: number;
}

export interface Typist {
  userId: string;
  username: string;
}

export interface Notice {
  id: number;
  text: string;
}

/** A message to scroll to and highlight; `nonce` changes on every request, even for the same one. */
export interface Focus {
  chatId: string;
  messageId: string;
  nonce: number;
}

/** The browser's notification permission, or `unsupported` where there is no Notification API. */
export type NotificationsPermission = 'default' | 'granted' | 'denied' | 'unsupported';

export interface State {
  me: Me;
  connection: Connection;
  chatsLoaded: boolean;
  /** Newest activity first. */
  chats: Chat[];
  histories: Record<string, History>;
  outgoing: Record<string, Outgoing[]>;
  typing: Record<string, Typist[]>;
  notice: Notice | null;
  /** The users I blocked, most recent first; null until loaded. */
  blocked: User[] | null;
  focus: Focus | null;
  notifications: NotificationsPermission;
}

export const initialState = (
  me: Me,
  notifications: NotificationsPermission = 'unsupported',
): State => ({
  me,
  connection: 'connecting',
  chatsLoaded: false,
  chats: [],
  histories: {},
  outgoing: {},
  typing: {},
  notice: null,
  blocked: null,
  focus: null,
  notifications,
});

export const emptyHistory = (): History => ({
  messages: [],
  hasMore: false,
  loading: false,
  loaded: false,
  error: null,
  version: 0,
});

// ---- chats -----------------------------------------------------------------------------------

export const activityTime = (chat: Chat): string =>
  chat.last_message?.created_at ?? chat.created_at;

export function sortChats(chats: readonly Chat[]): Chat[] {
  return [...chats].sort((a, b) => {
    const byTime = Date.parse(activityTime(b)) - Date.parse(activityTime(a));
    return byTime !== 0 ? byTime : a.id.localeCompare(b.id);
  });
}

/** Adds or replaces a chat, keeping the newer of the two last messages. */
export function upsertChat(chats: readonly Chat[], chat: Chat): Chat[] {
  const existing = chats.find((c) => c.id === chat.id);
  let next = chat;
  if (existing?.last_message && (chat.last_message?.seq ?? 0) < existing.last_message.seq) {
    next = { ...chat, last_message: existing.last_message };
  }
  return sortChats([...chats.filter((c) => c.id !== chat.id), next]);
}

/**
 * The server's chat list, taken as the truth, except for what happened while it was being
 * fetched: chats that arrived (`chat:new`) or left (`chat:removed`) since, and last messages
 * newer than the ones it carries.
 */
export function mergeChatList(
  local: readonly Chat[],
  server: readonly Chat[],
  addedSince: ReadonlySet<string>,
  removedSince: ReadonlySet<string>,
): Chat[] {
  const held = new Map(local.map((c) => [c.id, c]));
  const result = server
    .filter((c) => !removedSince.has(c.id))
    .map((c) => {
      const mine = held.get(c.id)?.last_message;
      return mine && (c.last_message?.seq ?? 0) < mine.seq ? { ...c, last_message: mine } : c;
    });
  for (const id of addedSince) {
    const chat = held.get(id);
    if (chat && !result.some((c) => c.id === id)) result.push(chat);
  }
  return sortChats(result);
}

/**
 * One page of the server's chat list while the rest is still loading: adds or refreshes its
 * chats (a chat seen on an earlier page too is taken once), leaving out those removed since the
 * fetch began. Nothing is dropped here: that waits for the whole list (`mergeChatList`).
 */
export function mergeChatPage(
  local: readonly Chat[],
  page: readonly Chat[],
  removedSince: ReadonlySet<string>,
): Chat[] {
  let chats = [...local];
  for (const chat of page) if (!removedSince.has(chat.id)) chats = upsertChat(chats, chat);
  return chats;
}

/** Pages fetched one after another, each chat once: a chat that moved keeps its newest copy. */
export function joinPages(pages: readonly (readonly Chat[])[]): Chat[] {
  const byId = new Map<string, Chat>();
  for (const chat of pages.flat()) {
    const held = byId.get(chat.id);
    if (!held || Date.parse(chat.updated_at) >= Date.parse(held.updated_at))
      byId.set(chat.id, chat);
  }
  return [...byId.values()];
}

export const isBlocked = (state: State, userId: string): boolean =>
  state.blocked?.some((u) => u.id === userId) ?? false;

export const findChat = (state: State, chatId: string): Chat | undefined =>
  state.chats.find((c) => c.id === chatId);

export const otherParticipant = (chat: Chat, meId: string): Participant | undefined =>
  chat.participants.find((p) => p.id !== meId);

/** The group's name, or for a direct chat the other person's display name. */
export function chatTitle(chat: Chat, meId: string): string {
  if (chat.type === 'group') return chat.name ?? 'Unnamed group';
  return otherParticipant(chat, meId)?.display_name ?? 'Just you';
}

/** A name with its handle: a display name can imitate someone, a username cannot. */
export const nameWithHandle = (user: Pick<User, 'username' | 'display_name'>): string =>
  user.display_name === user.username
    ? `@${user.username}`
    : `${user.display_name} (@${user.username})`;

export const myReadSeq = (chat: Chat, meId: string): number =>
  chat.participants.find((p) => p.id === meId)?.last_read_seq ?? 0;

/** How many people other than the sender have read up to `seq`. */
export const seenBy = (chat: Chat, seq: number, senderId: string): number =>
  chat.participants.filter((p) => p.id !== senderId && p.last_read_seq >= seq).length;

// ---- messages --------------------------------------------------------------------------------

/** Each message once (by id), in `seq` order. */
export function mergeMessages(
  current: readonly Message[],
  incoming: readonly Message[],
): Message[] {
  const byId = new Map<string, Message>();
  for (const m of current) byId.set(m.id, m);
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

const withParticipant = (chat: Chat, userId: string, change: Partial<Participant>): Chat => ({
  ...chat,
  participants: chat.participants.map((p) => (p.id === userId ? { ...p, ...change } : p)),
});

/**
 * A stored message reached this client (live, by acknowledgement or by a fetch). `viewing` is
 * whether its chat is open on a visible page, in which case it does not count as unread.
 * `intoHistory: false` updates only the chat (used when the message would leave a gap in the
 * held history, which a fetch then fills). Returns the state unchanged for an unknown chat.
 */
export function receiveMessage(
  state: State,
  message: Message,
  viewing: boolean,
  intoHistory = true,
): State {
  const chat = findChat(state, message.chat_id);
  if (!chat) return state;

  const isNewest = message.seq > (chat.last_message?.seq ?? 0);
  const mine = message.sender_id === state.me.id;
  let nextChat: Chat = chat;
  if (isNewest) {
    nextChat = {
      ...chat,
      last_message: message,
      unread_count: mine || viewing ? 0 : chat.unread_count + 1,
    };
  }
  // Sending a message moves the sender's read mark to it.
  const sender = nextChat.participants.find((p) => p.id === message.sender_id);
  if (sender && sender.last_read_seq < message.seq) {
    nextChat = withParticipant(nextChat, sender.id, { last_read_seq: message.seq });
  }

  const history = state.histories[message.chat_id];
  const histories =
    intoHistory && history && (history.loaded || history.loading)
      ? {
          ...state.histories,
          [message.chat_id]: { ...history, messages: mergeMessages(history.messages, [message]) },
        }
      : state.histories;

  const pending = state.outgoing[message.chat_id] ?? [];
  const outgoing =
    mine && message.client_message_id && pending.length > 0
      ? {
          ...state.outgoing,
          [message.chat_id]: pending.filter((o) => o.clientMessageId !== message.client_message_id),
        }
      : state.outgoing;

  const typists = state.typing[message.chat_id] ?? [];
  const typing = typists.some((t) => t.userId === message.sender_id)
    ? {
        ...state.typing,
        [message.chat_id]: typists.filter((t) => t.userId !== message.sender_id),
      }
    : state.typing;

  return {
    ...state,
    chats: nextChat === chat ? state.chats : upsertChat(state.chats, nextChat),
    histories,
    outgoing,
    typing,
  };
}

/** True when `message` does not directly follow what the history holds: something was missed. */
export function leavesGap(history: History | undefined, message: Message): boolean {
  if (!history?.loaded) return false;
  const last = history.messages.at(-1);
  return last !== undefined && message.seq > last.seq + 1;
}

export function applyRead(state: State, event: MessageReadEvent): State {
  const chat = findChat(state, event.chatId);
  const reader = chat?.participants.find((p) => p.id === event.userId);
  if (!chat || !reader || reader.last_read_seq >= event.seq) return state;
  let next = withParticipant(chat, event.userId, {
    last_read_seq: event.seq,
    last_read_at: new Date().toISOString(),
  });
  // Read on another of my own devices: what it read is no longer unread here.
  if (event.userId === state.me.id && event.seq >= (chat.last_message?.seq ?? 0)) {
    next = { ...next, unread_count: 0 };
  }
  return { ...state, chats: state.chats.map((c) => (c.id === chat.id ? next : c)) };
}

export function applyStatus(state: State, event: UserStatusEvent): State {
  const change = (p: Participant): Participant =>
    p.id === event.userId
      ? { ...p, status: event.status, last_seen_at: event.lastSeenAt ?? p.last_seen_at }
      : p;
  return {
    ...state,
    chats: state.chats.map((c) =>
      c.participants.some((p) => p.id === event.userId)
        ? { ...c, participants: c.participants.map(change) }
        : c,
    ),
  };
}

export function removeChat(state: State, chatId: string): State {
  const { [chatId]: _h, ...histories } = state.histories;
  const { [chatId]: _o, ...outgoing } = state.outgoing;
  const { [chatId]: _t, ...typing } = state.typing;
  return {
    ...state,
    chats: state.chats.filter((c) => c.id !== chatId),
    histories,
    outgoing,
    typing,
  };
}

export function setTyping(state: State, chatId: string, typist: Typist, active: boolean): State {
  const current = state.typing[chatId] ?? [];
  const others = current.filter((t) => t.userId !== typist.userId);
  const next = active ? [...others, typist] : others;
  if (!active && next.length === current.length) return state;
  return { ...state, typing: { ...state.typing, [chatId]: next } };
}

/** "alice is typing…", one clause per typist, as the live region reads it. */
export function typingText(typists: readonly Typist[]): string {
  if (typists.length === 0) return '';
  return `${typists.map((t) => `${t.username} is typing`).join(', ')}…`;
}
