import type {
  Chat,
  ChatListQuery,
  ChatListResponse,
  CreateChatRequest,
  Message,
  Participant,
  Role,
} from '@parley/protocol';
import type { ChatRow } from '../db/schema.js';
import {
  AppError,
  conflict,
  forbidden,
  isUniqueViolation,
  notFound,
  validationFailed,
} from '../errors.js';
import type { BlocksRepository } from '../repositories/blocks.repository.js';
import type {
  ChatAccess,
  ChatListKey,
  ChatsRepository,
  ParticipantRecord,
} from '../repositories/chats.repository.js';
import { iso, isoOrNull } from '../repositories/mappers.js';
import type { MessagesRepository } from '../repositories/messages.repository.js';
import type { UsersRepository } from '../repositories/users.repository.js';
import type { Broadcaster, RateLimiter } from './ports.js';
import type { UsersService } from './users.service.js';

type Membership = NonNullable<ChatAccess> & { role: Role };

/** Chats and their membership: who may see, create and change what, and who hears of it. */
export class ChatsService {
  constructor(
    private readonly chats: ChatsRepository,
    private readonly messages: MessagesRepository,
    private readonly users: UsersRepository,
    private readonly userViews: UsersService,
    private readonly blocks: BlocksRepository,
    private readonly broadcast: Broadcaster,
    /** Chats a user may create per hour (RATE_LIMIT_CHATS). */
    private readonly createLimiter: RateLimiter,
  ) {}

  /** not_found before forbidden, as the contract orders them. */
  async requireParticipant(chatId: string, userId: string): Promise<Membership> {
    const access = await this.chats.access(chatId, userId);
    if (!access) throw notFound('chat');
    if (!access.role) throw forbidden('you are not a participant of this chat');
    return { ...access, role: access.role };
  }

  chatIdsOf(userId: string): Promise<string[]> {
    return this.chats.chatIdsForUser(userId);
  }

  /** A page of the user's chats, newest activity first; `next_cursor` is null on the last. */
  async list(userId: string, query: ChatListQuery): Promise<ChatListResponse> {
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
    // One row more than asked tells whether another page follows.
    const found = await this.chats.listForUser(userId, query.limit + 1, after);
    const rows = found.slice(0, query.limit);
    const last = rows.at(-1);
    const ids = rows.map((r) => r.id);
    const [participants, latest, unread] = await Promise.all([
      this.participantsByChat(ids),
      this.messages.latest(ids),
      this.messages.unreadCounts(userId, ids),
    ]);
    return {
      chats: rows.map((row) =>
        toChat(
          row,
          participants.get(row.id) ?? [],
          latest.get(row.id) ?? null,
          unread.get(row.id) ?? 0,
        ),
      ),
      next_cursor:
        found.length > query.limit && last
          ? encodeCursor({ updatedAt: last.activity_key, id: last.id })
          : null,
    };
  }

  async get(chatId: string, userId: string): Promise<Chat> {
    await this.requireParticipant(chatId, userId);
    const views = await this.views(chatId);
    const view = views.forUser(userId);
    if (!view) throw notFound('chat');
    return view;
  }

  async create(
    creatorId: string,
    input: CreateChatRequest,
  ): Promise<{ chat: Chat; created: boolean }> {
    let chatId: string;
    let created = true;
    let memberIds: string[];
    if (input.type === 'direct') {
      if (input.userId === creatorId) throw validationFailed('a direct chat needs another user');
      await this.requireUsers([input.userId]);
      await this.requireNotBlockedBy([input.userId], creatorId);
      // Finding the chat that exists spends nothing of the allowance; only a creation does.
      const existing = await this.chats.findDirect(creatorId, input.userId);
      if (existing) {
        chatId = existing;
        created = false;
      } else {
        await this.createLimiter.consume(creatorId);
        ({ id: chatId, created } = await this.chats.findOrCreateDirect(creatorId, input.userId));
      }
      memberIds = [creatorId, input.userId];
    } else {
      const others = [...new Set(input.participantIds)].filter((id) => id !== creatorId);
      await this.requireUsers(others);
      await this.requireNotBlockedBy(others, creatorId);
      await this.createLimiter.consume(creatorId);
      chatId = await this.chats.createGroup(creatorId, input.name, others);
      memberIds = [creatorId, ...others];
    }
    if (!created) {
      const existing = (await this.views(chatId)).forUser(creatorId);
      if (!existing) throw notFound('chat');
      return { chat: existing, created };
    }
    for (const id of memberIds) this.broadcast.enterChat(id, chatId);
    const views = await this.views(chatId);
    views.each((userId, chat) => this.broadcast.chatNew(userId, chat));
    // Someone removed while the views loaded: their move out may have preceded our move in.
    for (const id of memberIds) if (!views.forUser(id)) this.broadcast.leaveChat(id, chatId);
    const chat = views.forUser(creatorId);
    if (!chat) throw notFound('chat');
    return { chat, created };
  }

  // Group management checks run in the contract's precedence: an unknown chat (404), a direct
  // chat (400), an unknown target (404), then the caller's rights (403), then conflicts (409).

  async addParticipant(chatId: string, actorId: string, userId: string): Promise<Chat> {
    const access = await this.groupAccess(chatId, actorId);
    await this.requireUsers([userId]);
    requireManager(access);
    await this.requireNotBlockedBy([userId], actorId);
    try {
      await this.chats.addParticipant(chatId, userId);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('already a participant');
      throw err;
    }
    this.broadcast.enterChat(userId, chatId);
    return this.announceChange(chatId, actorId, userId);
  }

  async rename(chatId: string, actorId: string, name: string): Promise<Chat> {
    requireManager(await this.groupAccess(chatId, actorId));
    await this.chats.rename(chatId, name);
    return this.announceChange(chatId, actorId);
  }

  async setRole(
    chatId: string,
    actorId: string,
    userId: string,
    role: 'admin' | 'member',
  ): Promise<Chat> {
    const access = await this.groupAccess(chatId, actorId);
    const target = await this.chats.access(chatId, userId);
    if (target?.role === 'owner') throw validationFailed("the owner's own role cannot change");
    if (!target?.role) throw notFound('participant');
    if (access.role !== 'owner') throw forbidden('only the owner can change roles');
    // Removed meanwhile: there is no role left to change.
    if (!(await this.chats.setRole(chatId, userId, role))) throw notFound('participant');
    return this.announceChange(chatId, actorId);
  }

  /** Removing someone else takes an owner or admin (and never the owner); anyone may leave. */
  async removeParticipant(chatId: string, actorId: string, userId: string): Promise<void> {
    const access = await this.groupAccess(chatId, actorId);
    const target = userId === actorId ? access : await this.chats.access(chatId, userId);
    if (!target?.role) throw notFound('participant');
    if (userId !== actorId) {
      requireManager(access);
      if (target.role === 'owner') throw forbidden('the owner cannot be removed');
    }
    if (!(await this.chats.removeParticipant(chatId, userId))) throw notFound('participant');
    this.broadcast.chatRemoved(userId, chatId);
    const views = await this.views(chatId);
    views.each((uid, chat) => this.broadcast.chatUpdated(uid, chat));
  }

  /** The caller's place in a group: 404 for no such chat, 400 for a direct one. */
  private async groupAccess(chatId: string, actorId: string): Promise<NonNullable<ChatAccess>> {
    const access = await this.chats.access(chatId, actorId);
    if (!access) throw notFound('chat');
    if (access.type !== 'group') throw validationFailed('a direct chat has no members to manage');
    return access;
  }

  private async requireUsers(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    // A deleted account keeps its row for its messages' sake, but no one can bring it into a chat.
    const found = (await this.users.findByIds(ids)).filter((u) => u.deleted_at === null);
    if (found.length !== new Set(ids).size) throw notFound('user');
  }

  /** 403 when any of `userIds` blocked `actorId`: they cannot be brought into a chat by them. */
  private async requireNotBlockedBy(userIds: readonly string[], actorId: string): Promise<void> {
    const blockers = await this.blocks.blockersAmong(userIds, actorId);
    if (blockers.length === 0) return;
    throw forbidden(
      userIds.length === 1
        ? 'this person does not accept chats from you'
        : 'someone you named does not accept chats from you',
    );
  }

  /** `chat:updated` to every participant but the one just added, who gets `chat:new`. */
  private async announceChange(chatId: string, actorId: string, addedId?: string): Promise<Chat> {
    const views = await this.views(chatId);
    // Added, then removed while the views loaded: undo a move in that came after the move out.
    if (addedId && !views.forUser(addedId)) this.broadcast.leaveChat(addedId, chatId);
    views.each((userId, chat) =>
      userId === addedId
        ? this.broadcast.chatNew(userId, chat)
        : this.broadcast.chatUpdated(userId, chat),
    );
    const chat = views.forUser(actorId);
    if (!chat) throw new AppError('internal', 'chat vanished');
    return chat;
  }

  /** The chat as each participant sees it: one load, an unread count per participant. */
  private async views(chatId: string) {
    const [row, participants, latest, unread] = await Promise.all([
      this.chats.findById(chatId),
      this.participantsByChat([chatId]),
      this.messages.latest([chatId]),
      this.messages.unreadByParticipant(chatId),
    ]);
    if (!row) throw notFound('chat');
    const members = participants.get(chatId) ?? [];
    const last = latest.get(chatId) ?? null;
    const forUser = (userId: string): Chat | undefined =>
      members.some((p) => p.id === userId)
        ? toChat(row, members, last, unread.get(userId) ?? 0)
        : undefined;
    return {
      forUser,
      each: (fn: (userId: string, chat: Chat) => void) => {
        for (const p of members) fn(p.id, toChat(row, members, last, unread.get(p.id) ?? 0));
      },
    };
  }

  private async participantsByChat(
    chatIds: readonly string[],
  ): Promise<Map<string, Participant[]>> {
    const records = await this.chats.participants(chatIds);
    const presented = await this.userViews.present(records);
    const byChat = new Map<string, Participant[]>();
    for (const { row, ...user } of presented) {
      const list = byChat.get(row.chat_id) ?? [];
      list.push(toParticipant(user, row));
      byChat.set(row.chat_id, list);
    }
    return byChat;
  }
}

// The list cursor: the last chat's exact updated_at and id, opaque to clients (base64url).
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const encodeCursor = (key: ChatListKey): string =>
  Buffer.from(`${key.updatedAt}|${key.id}`).toString('base64url');

function decodeCursor(cursor: string): ChatListKey {
  const [updatedAt = '', id = '', ...rest] = Buffer.from(cursor, 'base64url')
    .toString('utf8')
    .split('|');
  // A real calendar time (no 30 February): the millisecond part must survive a round trip.
  const millis = `${updatedAt.slice(0, 23)}Z`;
  const valid =
    rest.length === 0 &&
    CURSOR_TIME.test(updatedAt) &&
    UUID.test(id) &&
    !Number.isNaN(Date.parse(millis)) &&
    new Date(millis).toISOString() === millis;
  if (!valid) throw validationFailed('cursor: not a next_cursor this server gave');
  return { updatedAt, id };
}

function requireManager(access: NonNullable<ChatAccess>): void {
  if (!access.role) throw forbidden('you are not a participant of this chat');
  if (access.role === 'member') throw forbidden('only an owner or admin can do this');
}

function toParticipant(
  user: Omit<Participant, 'role' | 'joined_at' | 'last_read_seq' | 'last_read_at'>,
  r: ParticipantRecord,
): Participant {
  return {
    ...user,
    role: r.role,
    joined_at: iso(r.joined_at),
    last_read_seq: r.last_read_seq,
    last_read_at: isoOrNull(r.last_read_at),
  };
}

function toChat(
  row: ChatRow,
  participants: Participant[],
  last: Message | null,
  unread: number,
): Chat {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    created_by: row.created_by,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    participants,
    last_message: last,
    unread_count: unread,
  };
}
