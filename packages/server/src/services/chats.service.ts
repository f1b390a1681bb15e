import type {
  Chat,
  ChatListQuery,
  ChatListResponse,
  CreateChatRequest,
  Message,
  Participant,
  User,
  UserSummary,
} from '@parley/protocol';
import { AppError, conflict, isUniqueViolation, notFound, validationFailed } from '../errors.js';
import type { BlocksRepository } from '../repositories/blocks.repository.js';
import type { ChatListKey, ChatsRepository } from '../repositories/chats.repository.js';
import { iso, isoOrNull } from '../time.js';
import type { MessagesRepository } from '../repositories/messages.repository.js';
import type { UsersRepository } from '../repositories/users.repository.js';
import {
  asManager,
  asOwner,
  assertNotBlocked,
  assertRemovable,
  notParticipant,
  type AccessPolicy,
} from './access.js';
import type { DomainEvents } from './events.js';
import type { ChatParticipant, ChatRecord } from './models.js';
import type { RateLimiter } from './ports.js';
import { toSummary, type UsersService } from './users.service.js';
import type { SystemNote } from '../repositories/messages.repository.js';

/** Chats and their membership: who may see, create and change what, and what happened. */
export class ChatsService {
  constructor(
    private readonly chats: ChatsRepository,
    private readonly messages: MessagesRepository,
    private readonly users: UsersRepository,
    private readonly userViews: UsersService,
    private readonly blocks: BlocksRepository,
    private readonly access: AccessPolicy,
    private readonly events: DomainEvents,
    /** Chats a user may create per hour (RATE_LIMIT_CHATS). */
    private readonly createLimiter: RateLimiter,
  ) {}

  /** The user's chats and their membership version, in one snapshot (see realtime/rooms.ts). */
  membershipOf(userId: string): Promise<{ version: number; chatIds: string[] }> {
    return this.chats.membershipOf(userId);
  }

  membershipVersion(userId: string): Promise<number> {
    return this.chats.membershipVersion(userId);
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
          participants.get(row.id) ?? NO_MEMBERS,
          latest.get(row.id) ?? null,
          unread.get(row.id) ?? 0,
          userId,
        ),
      ),
      next_cursor:
        found.length > query.limit && last
          ? encodeCursor({ updatedAt: last.activityKey, id: last.id })
          : null,
    };
  }

  async get(chatId: string, userId: string): Promise<Chat> {
    await this.access.participant(chatId, userId);
    const view = (await this.views(chatId)).get(userId);
    if (!view) throw notFound('chat');
    return view;
  }

  async create(
    creatorId: string,
    input: CreateChatRequest,
  ): Promise<{ chat: Chat; created: boolean }> {
    const { chatId, created, added } =
      input.type === 'direct'
        ? await this.openDirect(creatorId, input.userId)
        : await this.createGroup(creatorId, input.name, input.participantIds);
    if (added.length === 0) {
      const existing = (await this.views(chatId)).get(creatorId);
      if (!existing) throw notFound('chat');
      return { chat: existing, created };
    }
    this.events.publish({ type: 'MembershipChanged', chatId, added, removed: [] });
    const views = await this.views(chatId);
    this.events.publish({ type: 'ChatChanged', chatId, views, added });
    const chat = views.get(creatorId);
    if (!chat) throw notFound('chat');
    return { chat, created };
  }

  /**
   * The direct chat of two people: created, or found; found, it takes back whichever of them had
   * left it (`added`), so that opening a chat one left is how one returns to it.
   */
  private async openDirect(
    creatorId: string,
    userId: string,
  ): Promise<{ chatId: string; created: boolean; added: string[] }> {
    if (userId === creatorId) throw validationFailed('a direct chat needs another user');
    await this.requireUsers([userId]);
    await this.requireNotBlockedBy([userId], creatorId);
    let chatId = await this.chats.findDirect(creatorId, userId);
    if (chatId === undefined) {
      // Finding the chat that exists spends nothing of the allowance; only a creation does.
      await this.createLimiter.consume(creatorId);
      const found = await this.chats.findOrCreateDirect(creatorId, userId);
      if (found.created) return { chatId: found.id, created: true, added: [creatorId, userId] };
      chatId = found.id;
    } else if (!(await this.chats.access(chatId, userId))?.role) {
      // Bringing back someone who left is, for them, a chat arriving (`chat:new`): it spends of
      // the allowance as a creation does, so that nobody can pull them back without end.
      await this.createLimiter.consume(creatorId);
    }
    const added = await this.chats.rejoinDirect(chatId, [creatorId, userId]);
    return { chatId, created: false, added };
  }

  private async createGroup(
    creatorId: string,
    name: string,
    participantIds: readonly string[],
  ): Promise<{ chatId: string; created: boolean; added: string[] }> {
    const others = [...new Set(participantIds)].filter((id) => id !== creatorId);
    await this.requireUsers(others);
    await this.requireNotBlockedBy(others, creatorId);
    await this.createLimiter.consume(creatorId);
    const chatId = await this.chats.createGroup(creatorId, name, others);
    return { chatId, created: true, added: [creatorId, ...others] };
  }

  // Group management checks run in the contract's precedence: an unknown chat (404), a direct
  // chat (400; leaving is no management: AccessPolicy.remover), an unknown target (404), then the
  // caller's rights (403), then conflicts (409).

  async addParticipant(chatId: string, actorId: string, userId: string): Promise<Chat> {
    const place = await this.access.group(chatId, actorId);
    await this.requireUsers([userId]);
    asManager(place);
    await this.requireNotBlockedBy([userId], actorId);
    const { actor, target } = await this.people(actorId, userId);
    let line: Message;
    try {
      line = await this.chats.addParticipant(
        chatId,
        userId,
        note(actor, `${actor.display_name} added ${target.display_name}`),
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('already a participant');
      throw err;
    }
    this.events.publish({ type: 'MembershipChanged', chatId, added: [userId], removed: [] });
    const chat = await this.announceChange(chatId, actorId, [userId]);
    this.publishLine(line);
    return chat;
  }

  async rename(chatId: string, actorId: string, name: string): Promise<Chat> {
    asManager(await this.access.group(chatId, actorId));
    const { actor } = await this.people(actorId, actorId);
    const line = await this.chats.rename(
      chatId,
      name,
      note(actor, `${actor.display_name} renamed the group to “${name}”`),
    );
    const chat = await this.announceChange(chatId, actorId);
    if (line) this.publishLine(line);
    return chat;
  }

  async setRole(
    chatId: string,
    actorId: string,
    userId: string,
    role: 'admin' | 'member',
  ): Promise<Chat> {
    const place = await this.access.group(chatId, actorId);
    const target = await this.chats.access(chatId, userId);
    if (target?.role === 'owner') throw validationFailed("the owner's own role cannot change");
    if (!target?.role) throw notFound('participant');
    asOwner(place);
    // Removed meanwhile: there is no role left to change.
    if (!(await this.chats.setRole(chatId, userId, role))) throw notFound('participant');
    return this.announceChange(chatId, actorId);
  }

  /**
   * Removing someone else takes an owner or admin of a group (and never the owner); anyone may
   * leave any chat, a direct one too (opening it again brings them back: `create`).
   */
  async removeParticipant(chatId: string, actorId: string, userId: string): Promise<void> {
    const place = await this.access.remover(chatId, actorId, userId);
    const target = userId === actorId ? place : await this.chats.access(chatId, userId);
    if (!target?.role) throw notFound('participant');
    if (userId !== actorId) {
      asManager(place);
      assertRemovable(target.role);
    }
    const { actor, target: member } = await this.people(actorId, userId);
    const line = await this.chats.removeParticipant(
      chatId,
      userId,
      userId === actorId
        ? note(actor, `${actor.display_name} left`)
        : note(actor, `${actor.display_name} removed ${member.display_name}`),
    );
    if (!line) throw notFound('participant');
    this.events.publish({ type: 'MembershipChanged', chatId, added: [], removed: [userId] });
    this.events.publish({
      type: 'ChatChanged',
      chatId,
      views: await this.views(chatId),
      added: [],
    });
    this.publishLine(line);
  }

  /** The actor and the member a change is about, as its line names them (display names now). */
  private async people(
    actorId: string,
    targetId: string,
  ): Promise<{ actor: UserSummary; target: UserSummary }> {
    const found = new Map(
      (await this.users.findByIds([...new Set([actorId, targetId])])).map((a) => [
        a.id,
        toSummary(a),
      ]),
    );
    const actor = found.get(actorId);
    const target = found.get(targetId);
    if (!actor || !target) throw notFound('user');
    return { actor, target };
  }

  /**
   * A membership change's line reaches the room after the room moved (an added member's sockets
   * are in it, a removed member's are out) and after the chat events, so the added member knows
   * the chat when its line arrives.
   */
  private publishLine(message: Message): void {
    this.events.publish({ type: 'MessageCreated', message });
  }

  private async requireUsers(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    // A deleted account keeps its row for its messages' sake, but no one can bring it into a chat.
    const found = (await this.users.findByIds(ids)).filter((u) => u.deletedAt === null);
    if (found.length !== new Set(ids).size) throw notFound('user');
  }

  /** 403 when any of `userIds` blocked `actorId`: they cannot be brought into a chat by them. */
  private async requireNotBlockedBy(userIds: readonly string[], actorId: string): Promise<void> {
    assertNotBlocked(await this.blocks.blockersAmong(userIds, actorId), userIds.length);
  }

  /** Tells every participant of the change; `added` learn of the chat for the first time. */
  private async announceChange(
    chatId: string,
    actorId: string,
    added: readonly string[] = [],
  ): Promise<Chat> {
    const views = await this.views(chatId);
    this.events.publish({ type: 'ChatChanged', chatId, views, added });
    const chat = views.get(actorId);
    if (!chat) throw new AppError('internal', 'chat vanished');
    return chat;
  }

  /** The chat as each participant sees it, by user id: one load, an unread count each. */
  private async views(chatId: string): Promise<Map<string, Chat>> {
    const [row, participants, latest, unread] = await Promise.all([
      this.chats.findById(chatId),
      this.participantsByChat([chatId]),
      this.messages.latest([chatId]),
      this.messages.unreadByParticipant(chatId),
    ]);
    if (!row) throw notFound('chat');
    const members = participants.get(chatId) ?? NO_MEMBERS;
    const last = latest.get(chatId) ?? null;
    return new Map(
      members.list.map(
        (p) => [p.id, toChat(row, members, last, unread.get(p.id) ?? 0, p.id)] as const,
      ),
    );
  }

  /** The caller's own setting: `muted` shows in the chats they load. */
  async setMuted(chatId: string, userId: string, muted: boolean): Promise<Chat> {
    await this.access.participant(chatId, userId);
    if (!(await this.chats.setMuted(chatId, userId, muted))) throw notParticipant();
    const chat = (await this.views(chatId)).get(userId);
    if (!chat) throw notFound('chat');
    // The user's other tabs and devices follow; no one else learns of it.
    this.events.publish({
      type: 'ChatChanged',
      chatId,
      views: new Map([[userId, chat]]),
      added: [],
    });
    return chat;
  }

  private async participantsByChat(chatIds: readonly string[]): Promise<Map<string, Members>> {
    const records = await this.chats.participants(chatIds);
    const presented = await this.userViews.present(records);
    const byChat = new Map<string, Members>();
    for (const { record, user } of presented) {
      let members = byChat.get(record.chatId);
      if (!members) byChat.set(record.chatId, (members = { list: [], muted: new Set() }));
      members.list.push(toParticipant(user, record));
      if (record.muted) members.muted.add(record.account.id);
    }
    return byChat;
  }
}

const note = (sender: UserSummary, content: string): SystemNote => ({ sender, content });

// The list cursor: the last chat's exact updated_at and id, opaque to clients (base64url).
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const encodeCursor = (key: ChatListKey): string =>
  Buffer.from(`${key.updatedAt}|${key.id}`).toString('base64url');

function decodeCursor(cursor: string): ChatListKey {
  const [updatedAt = '', id = '', ...rest] = Buffer.from(cursor, 'base64url')
    .toString('utf8')
    .split('|');
  // A real calendar time (no 30 February): the millisecond part must survive a round trip. Year
  // 0000 passes that in JavaScript, but PostgreSQL's timestamps have no year 0 (they go from 1 BC
  // to AD 1): no cursor this server gives starts with it.
  const millis = `${updatedAt.slice(0, 23)}Z`;
  const valid =
    rest.length === 0 &&
    CURSOR_TIME.test(updatedAt) &&
    !updatedAt.startsWith('0000') &&
    UUID.test(id) &&
    !Number.isNaN(Date.parse(millis)) &&
    new Date(millis).toISOString() === millis;
  if (!valid) throw validationFailed('cursor: not a next_cursor this server gave');
  return { updatedAt, id };
}

/** A chat's participants as the wire shows them, and who of them muted it. */
interface Members {
  list: Participant[];
  muted: Set<string>;
}
const NO_MEMBERS: Members = { list: [], muted: new Set() };

/**
 * Key by key, not `{ ...user, role, … }`: V8 (Node 20) gives an object built by spreading and then
 * adding keys a hidden class of its own each time, microseconds apiece (docs/PERFORMANCE.md),
 * and a chat list builds one per participant.
 */
function toParticipant(user: User, p: ChatParticipant): Participant {
  return {
    id: user.id,
    username: user.username,
    display_name: user.display_name,
    avatar_url: user.avatar_url,
    status: user.status,
    last_seen_at: user.last_seen_at,
    created_at: user.created_at,
    role: p.role,
    joined_at: iso(p.joinedAt),
    last_read_seq: p.lastReadSeq,
    last_read_at: isoOrNull(p.lastReadAt),
    unread_mentions: p.unreadMentions,
  };
}

/** The chat as `viewerId` sees it: their unread count and their own mute setting. */
function toChat(
  row: ChatRecord,
  members: Members,
  last: Message | null,
  unread: number,
  viewerId: string,
): Chat {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    created_by: row.createdBy,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
    participants: members.list,
    last_message: last,
    unread_count: unread,
    version: row.version,
    muted: members.muted.has(viewerId),
  };
}
