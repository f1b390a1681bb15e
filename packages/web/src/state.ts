// The client's view of the world and the pure rules that move it. No I/O here: `ChatClient`
// feeds these functions what the server says, and React renders what they return.
import type {
  Chat,
  Me,
  Message,
  MessageDeletedEvent,
  MessageReadEvent,
  Participant,
  ReactionUpdatedEvent,
  Reaction,
  ReplyPreview,
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
  /** Their display name in the chat, when known and other than the username. */
  name?: string;
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
  /** Older chats the server holds beyond the pages loaded: `more`, `loading` them, or `none`. */
  olderChats: 'none' | 'more' | 'loading';
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
  olderChats: 'none',
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

/** Of two copies of a chat's last message, the newer: the later message, or its later change. */
function newerLast(held: Message | null, incoming: Message | null): Message | null {
  if (!held) return incoming;
  if (!incoming) return held;
  if (incoming.seq !== held.seq) return incoming.seq > held.seq ? incoming : held;
  return incoming.version >= held.version ? incoming : held;
}

/** A chat as the server shows it now, keeping what this client has seen that is newer. */
function keepNewer(held: Chat | undefined, incoming: Chat): Chat {
  if (!held) return incoming;
  const last = newerLast(held.last_message, incoming.last_message);
  const version = Math.max(held.version, incoming.version);
  return last === incoming.last_message && version === incoming.version
    ? incoming
    : { ...incoming, last_message: last, version };
}

/** Adds or replaces a chat, keeping the newer of the two last messages and the higher version. */
export function upsertChat(chats: readonly Chat[], chat: Chat): Chat[] {
  const next = keepNewer(
    chats.find((c) => c.id === chat.id),
    chat,
  );
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
    .map((c) => keepNewer(held.get(c.id), c));
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

/**
 * Who a direct chat was with once they left it (it has no other participant then): the sender of
 * the newest message not mine among `messages` (oldest first) or else the chat's last message,
 * often their own line saying they left.
 */
export function formerPartner(
  chat: Chat,
  meId: string,
  messages: readonly Message[] = [],
): Message['sender'] | undefined {
  const theirs = (m: Message | null | undefined) =>
    m && m.sender_id !== meId ? m.sender : undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const sender = theirs(messages[i]);
    if (sender) return sender;
  }
  return theirs(chat.last_message);
}

/**
 * The group's name, or for a direct chat the other person's display name (also once they left
 * it, as far as the messages at hand tell: `formerPartner`).
 */
export function chatTitle(chat: Chat, meId: string, messages?: readonly Message[]): string {
  if (chat.type === 'group') return chat.name ?? 'Unnamed group';
  const other = otherParticipant(chat, meId) ?? formerPartner(chat, meId, messages);
  return other?.display_name ?? 'Just you';
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

/**
 * Each message once (by id), in `seq` order. Of two copies the one with the higher `version`
 * stays: a fetch answered before a live edit arrived must not undo it.
 */
export function mergeMessages(
  current: readonly Message[],
  incoming: readonly Message[],
): Message[] {
  const byId = new Map<string, Message>();
  for (const m of current) byId.set(m.id, m);
  for (const m of incoming) {
    const held = byId.get(m.id);
    if (!held || m.version >= held.version) byId.set(m.id, m);
  }
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

const myParticipant = (chat: Chat, meId: string): Participant | undefined =>
  chat.participants.find((p) => p.id === meId);

/** A loaded history's version moves on only with the change right after it: no gap left. */
const nextVersion = (history: History, version: number): number =>
  history.loaded && version === history.version + 1 ? version : history.version;

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
  let nextChat: Chat =
    message.version > chat.version ? { ...chat, version: message.version } : chat;
  if (isNewest) {
    nextChat = {
      ...nextChat,
      last_message: message,
      unread_count: mine || viewing ? 0 : chat.unread_count + 1,
    };
    if (!mine && !viewing && message.mentions.includes(state.me.id)) {
      const count = myParticipant(chat, state.me.id)?.unread_mentions ?? 0;
      nextChat = withParticipant(nextChat, state.me.id, { unread_mentions: count + 1 });
    }
  }
  // Sending a message moves the sender's read mark to it (and past my mentions, when mine).
  const sender = nextChat.participants.find((p) => p.id === message.sender_id);
  if (sender && sender.last_read_seq < message.seq) {
    nextChat = withParticipant(nextChat, sender.id, {
      last_read_seq: message.seq,
      ...(mine && isNewest ? { unread_mentions: 0 } : {}),
    });
  }

  const history = state.histories[message.chat_id];
  const histories =
    intoHistory && history && (history.loaded || history.loading)
      ? {
          ...state.histories,
          [message.chat_id]: {
            ...history,
            messages: mergeMessages(history.messages, [message]),
            version: nextVersion(history, message.version),
          },
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

// ---- message changes -------------------------------------------------------------------------

export const REPLY_PREVIEW_LENGTH = 200;

/** What a reply shows of the message it answers (as the server builds `reply_to`). */
export function replyPreview(message: Message): ReplyPreview {
  const deleted = message.deleted_at !== null;
  return {
    id: message.id,
    seq: message.seq,
    sender_id: message.sender_id,
    content: deleted ? '' : [...message.content].slice(0, REPLY_PREVIEW_LENGTH).join(''),
    deleted,
  };
}

/** The copy of a message this client holds with the highest version: history or chat list. */
export function heldMessage(state: State, chatId: string, messageId: string): Message | undefined {
  const inHistory = state.histories[chatId]?.messages.find((m) => m.id === messageId);
  const last = findChat(state, chatId)?.last_message;
  const inList = last?.id === messageId ? last : undefined;
  if (!inHistory || !inList) return inHistory ?? inList;
  return inList.version > inHistory.version ? inList : inHistory;
}

/** True when a change of this version shows that some change before it never reached us. */
export function versionGap(state: State, chatId: string, version: number): boolean {
  const history = state.histories[chatId];
  return !!history?.loaded && version > history.version + 1;
}

const mentionsMe = (m: Message | undefined, meId: string): boolean =>
  m?.mentions.includes(meId) ?? false;

/**
 * The one way a held message changes: `next` (when known) replaces every copy no newer than it,
 * the replies held that answer it get `preview` applied to their quote, my unread mentions
 * follow a mention added or removed above my mark, and the versions move on.
 */
function changeMessage(
  state: State,
  chatId: string,
  version: number,
  messageId: string,
  previous: Message | undefined,
  next: Message | undefined,
  preview: (quote: ReplyPreview) => ReplyPreview,
): State {
  const chat = findChat(state, chatId);
  if (!chat) return state;
  const update = (m: Message): Message => {
    let out = m;
    if (next && m.id === messageId && next.version >= m.version) out = next;
    if (out.reply_to?.id === messageId) out = { ...out, reply_to: preview(out.reply_to) };
    return out;
  };

  let nextChat: Chat = chat.version < version ? { ...chat, version } : chat;
  if (chat.last_message) {
    const last = update(chat.last_message);
    if (last !== chat.last_message) nextChat = { ...nextChat, last_message: last };
  }
  const me = state.me.id;
  const subject = next ?? previous;
  if (
    previous &&
    subject &&
    subject.sender_id !== me &&
    subject.seq > myReadSeq(chat, me) &&
    mentionsMe(previous, me) !== mentionsMe(next, me)
  ) {
    const count = myParticipant(chat, me)?.unread_mentions ?? 0;
    const delta = mentionsMe(next, me) ? 1 : -1;
    nextChat = withParticipant(nextChat, me, { unread_mentions: Math.max(0, count + delta) });
  }

  const history = state.histories[chatId];
  let histories = state.histories;
  if (history) {
    let touched = false;
    const messages = history.messages.map((m) => {
      const out = update(m);
      if (out !== m) touched = true;
      return out;
    });
    const v = nextVersion(history, version);
    if (touched || v !== history.version) {
      histories = {
        ...state.histories,
        [chatId]: { ...history, messages: touched ? messages : history.messages, version: v },
      };
    }
  }
  if (nextChat === chat && histories === state.histories) return state;
  return {
    ...state,
    chats:
      nextChat === chat ? state.chats : state.chats.map((c) => (c.id === chatId ? nextChat : c)),
    histories,
  };
}

/** `message:updated` (an edit), or a changed message fetched by catch-up: replaces held copies. */
export function applyMessageUpdated(state: State, message: Message): State {
  const previous = heldMessage(state, message.chat_id, message.id);
  const stale = previous !== undefined && previous.version > message.version;
  return changeMessage(
    state,
    message.chat_id,
    message.version,
    message.id,
    previous,
    stale ? undefined : message,
    (quote) => (stale ? quote : { ...quote, ...replyPreview(message) }),
  );
}

/** `message:deleted`: the held copy becomes a tombstone in its place; quotes of it say deleted. */
export function applyMessageDeleted(state: State, event: MessageDeletedEvent): State {
  const previous = heldMessage(state, event.chatId, event.messageId);
  const next =
    previous && previous.version < event.version
      ? {
          ...previous,
          content: '',
          deleted_at: event.deletedAt,
          reactions: [],
          mentions: [],
          attachments: [],
          version: event.version,
        }
      : undefined;
  return changeMessage(
    state,
    event.chatId,
    event.version,
    event.messageId,
    previous,
    next,
    (quote) => ({ ...quote, content: '', deleted: true }),
  );
}

/**
 * The reactions after one `reaction:updated`: `count` is the server's, a new emoji goes last,
 * one nobody keeps any more goes away. Applying the same event twice changes nothing.
 */
export function applyReactionEvent(
  reactions: readonly Reaction[],
  event: Pick<ReactionUpdatedEvent, 'emoji' | 'userId' | 'op' | 'count'>,
): Reaction[] {
  if (event.count <= 0) return reactions.filter((r) => r.emoji !== event.emoji);
  const users = (ids: readonly string[]): string[] =>
    event.op === 'add'
      ? ids.includes(event.userId)
        ? [...ids]
        : [...ids, event.userId]
      : ids.filter((id) => id !== event.userId);
  const held = reactions.find((r) => r.emoji === event.emoji);
  if (!held) return [...reactions, { emoji: event.emoji, count: event.count, user_ids: users([]) }];
  return reactions.map((r) =>
    r === held ? { ...r, count: event.count, user_ids: users(r.user_ids) } : r,
  );
}

/** `reaction:updated`: the held copy's reactions, unless it already reflects this change. */
export function applyReaction(state: State, event: ReactionUpdatedEvent): State {
  const previous = heldMessage(state, event.chatId, event.messageId);
  const next =
    previous && previous.version < event.version
      ? {
          ...previous,
          reactions: applyReactionEvent(previous.reactions, event),
          version: event.version,
        }
      : undefined;
  return changeMessage(
    state,
    event.chatId,
    event.version,
    event.messageId,
    previous,
    next,
    (quote) => quote,
  );
}

/**
 * What `changes?since` returned, every page of it: new messages land in `seq` order after the
 * held ones, changed ones replace their held copies (and refresh the quotes of replies), and
 * the history is current to `version`.
 */
export function applyChanges(
  state: State,
  chatId: string,
  messages: readonly Message[],
  version: number,
  viewing: boolean,
): State {
  let s = state;
  for (const m of [...messages].sort((a, b) => a.seq - b.seq)) {
    const history = s.histories[chatId];
    const last = history?.messages.at(-1)?.seq ?? 0;
    s =
      m.seq > last
        ? receiveMessage(s, m, viewing, !leavesGap(history, m))
        : applyMessageUpdated(s, m);
  }
  const chat = findChat(s, chatId);
  const history = s.histories[chatId];
  if (!chat) return s;
  return {
    ...s,
    chats:
      chat.version < version
        ? s.chats.map((c) => (c.id === chatId ? { ...c, version } : c))
        : s.chats,
    histories:
      history && history.version < version
        ? { ...s.histories, [chatId]: { ...history, version } }
        : s.histories,
  };
}

/** Messages above `seq` that mention me, as far as the held history tells; null if it cannot. */
function mentionsAbove(state: State, chat: Chat, seq: number): number | null {
  const lastSeq = chat.last_message?.seq ?? 0;
  if (seq >= lastSeq) return 0;
  const held = state.histories[chat.id]?.messages ?? [];
  const first = held[0]?.seq;
  if (first === undefined || first > seq + 1 || (held.at(-1)?.seq ?? 0) < lastSeq) return null;
  const me = state.me.id;
  return held.filter((m) => m.seq > seq && m.sender_id !== me && m.mentions.includes(me)).length;
}

export function applyRead(state: State, event: MessageReadEvent): State {
  const chat = findChat(state, event.chatId);
  const reader = chat?.participants.find((p) => p.id === event.userId);
  if (!chat || !reader || reader.last_read_seq >= event.seq) return state;
  let next = withParticipant(chat, event.userId, {
    last_read_seq: event.seq,
    last_read_at: new Date().toISOString(),
  });
  if (event.userId === state.me.id) {
    // Read on another of my own devices: what it read is no longer unread here.
    if (event.seq >= (chat.last_message?.seq ?? 0)) next = { ...next, unread_count: 0 };
    // Mentions above the new mark: counted from the history where it covers them, else kept.
    const mentions = mentionsAbove(state, chat, event.seq);
    if (mentions !== null)
      next = withParticipant(next, event.userId, { unread_mentions: mentions });
  }
  return { ...state, chats: state.chats.map((c) => (c.id === chat.id ? next : c)) };
}

/** I read the chat here up to its newest message: nothing in it is unread any more. */
export function readUpTo(state: State, chatId: string, newest: Message): State {
  const me = state.me.id;
  const chats = state.chats.map((c) =>
    c.id === chatId ? withParticipant({ ...c, unread_count: 0 }, me, { unread_mentions: 0 }) : c,
  );
  return applyRead(
    { ...state, chats },
    { chatId, userId: me, messageId: newest.id, seq: newest.seq },
  );
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

/**
 * Disconnected: whether anyone is online is no longer known here (their `user:status` cannot
 * reach us), so no one is shown online or offline until the reconnect's chat list says again.
 */
export function presenceUnknown(state: State): State {
  const unknown = (p: Participant): boolean => p.status !== null;
  if (!state.chats.some((c) => c.participants.some(unknown))) return state;
  return {
    ...state,
    chats: state.chats.map((c) =>
      c.participants.some(unknown)
        ? {
            ...c,
            participants: c.participants.map((p) => (unknown(p) ? { ...p, status: null } : p)),
          }
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
    focus: state.focus?.chatId === chatId ? null : state.focus,
  };
}

/**
 * Starts or stops one typist. A repeated start keeps its place (and the same state when nothing
 * changed): the typing line is a live region, and a line that reorders itself every few seconds
 * would be read out again each time.
 */
export function setTyping(state: State, chatId: string, typist: Typist, active: boolean): State {
  const current = state.typing[chatId] ?? [];
  const held = current.find((t) => t.userId === typist.userId);
  let next: Typist[];
  if (!active) {
    if (!held) return state;
    next = current.filter((t) => t !== held);
  } else if (!held) {
    next = [...current, typist];
  } else if (held.username === typist.username && held.name === typist.name) {
    return state;
  } else {
    next = current.map((t) => (t === held ? typist : t));
  }
  return { ...state, typing: { ...state.typing, [chatId]: next } };
}

/**
 * The typing line as the live region reads it, by display name: "Bob is typing…", "Bob and Carol
 * are typing…", and for three or more "Several people are typing…". Each person once.
 */
export function typingText(typists: readonly Typist[]): string {
  const names = [...new Map(typists.map((t) => [t.userId, t.name ?? t.username])).values()];
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

/** The typist with the display name the chat's participants give them, where it differs. */
export function namedTypist(state: State, chatId: string, typist: Typist): Typist {
  const participant = findChat(state, chatId)?.participants.find((p) => p.id === typist.userId);
  return participant && participant.display_name !== typist.username
    ? { ...typist, name: participant.display_name }
    : typist;
}
