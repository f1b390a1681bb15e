// Who may do what in a group, as the contract's owner rules say: the UI offers only what the
// server would accept, so nobody meets a refusal for a button they were shown.
import {
  codePointLength,
  hasVisible,
  type Chat,
  type Participant,
  type Role,
} from '@parley/protocol';

export const GROUP_NAME_MAX = 100;

export const roleOf = (chat: Chat, userId: string): Role | null =>
  chat.participants.find((p) => p.id === userId)?.role ?? null;

/** Renaming, adding and removing others: an owner or admin of a group. */
export const canManage = (chat: Chat, meId: string): boolean => {
  const role = roleOf(chat, meId);
  return chat.type === 'group' && (role === 'owner' || role === 'admin');
};

/** Roles: the owner alone, of anyone but themself. */
export const canChangeRole = (chat: Chat, meId: string, target: Participant): boolean =>
  chat.type === 'group' && roleOf(chat, meId) === 'owner' && target.id !== meId;

/** Removing someone else: an owner or admin, and never the owner. */
export const canRemove = (chat: Chat, meId: string, target: Participant): boolean =>
  canManage(chat, meId) && target.id !== meId && target.role !== 'owner';

/** The words shown beside a name; a plain member has none. */
export const roleLabel = (role: Role): string | null =>
  role === 'owner' ? 'Owner' : role === 'admin' ? 'Admin' : null;

const RANK: Record<Role, number> = { owner: 0, admin: 1, member: 2 };

/** The owner, then admins, then members, each by name. */
export function sortedMembers(chat: Chat): Participant[] {
  return [...chat.participants].sort(
    (a, b) => RANK[a.role] - RANK[b.role] || a.display_name.localeCompare(b.display_name),
  );
}

/**
 * Who owns the group once its owner leaves, as the server picks: the longest-standing admin,
 * else the longest-standing member (ties by id). Undefined when nobody else is left.
 */
export function heirOf(chat: Chat, ownerId: string): Participant | undefined {
  return chat.participants
    .filter((p) => p.id !== ownerId)
    .sort(
      (a, b) =>
        (a.role === 'admin' ? 0 : 1) - (b.role === 'admin' ? 0 : 1) ||
        Date.parse(a.joined_at) - Date.parse(b.joined_at) ||
        // PostgreSQL orders uuids by their bytes: the lowercase hex strings' plain order.
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )[0];
}

/** What is wrong with a group name, in words; null when the server will take it. */
export function groupNameProblem(name: string): string | null {
  if (!name.trim()) return 'Give the group a name.';
  const length = codePointLength(name);
  if (length > GROUP_NAME_MAX) {
    return `A group name can be at most ${GROUP_NAME_MAX} characters; this one has ${length}.`;
  }
  if (!hasVisible(name))
    return 'The name needs at least one letter, digit or other visible character.';
  if (/[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u.test(name)) {
    return 'The name contains invisible characters that reorder text; remove them.';
  }
  return null;
}
