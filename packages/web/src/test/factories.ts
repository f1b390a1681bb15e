// Wire objects as the server sends them, with defaults a test can override.
import type { Chat, Me, Message, Participant, User } from '@parley/protocol';

let n = 0;
const uuid = () => {
  n += 1;
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
};

export function user(overrides: Partial<User> = {}): User {
  const username = overrides.username ?? `user${n + 1}`;
  return {
    id: uuid(),
    username,
    display_name: username,
    avatar_url: null,
    status: 'online',
    last_seen_at: null,
    created_at: '2026-01-01T10:00:00.000Z',
    ...overrides,
  };
}

export const me = (overrides: Partial<User> = {}): Me => ({ ...user(overrides), email: null });

export function participant(u: User, overrides: Partial<Participant> = {}): Participant {
  return {
    ...u,
    role: 'member',
    joined_at: '2026-01-01T10:00:00.000Z',
    last_read_seq: 0,
    last_read_at: null,
    unread_mentions: 0,
    ...overrides,
  };
}

export function message(
  chat: { id: string },
  sender: User,
  seq: number,
  content?: string,
): Message {
  return {
    id: uuid(),
    chat_id: chat.id,
    seq,
    sender_id: sender.id,
    sender: {
      id: sender.id,
      username: sender.username,
      display_name: sender.display_name,
      avatar_url: null,
    },
    content: content ?? `message ${seq}`,
    message_type: 'text',
    client_message_id: null,
    created_at: new Date(Date.UTC(2026, 0, 1, 10, seq)).toISOString(),
    edited_at: null,
    deleted_at: null,
    version: seq,
    reply_to: null,
    reactions: [],
    mentions: [],
    attachments: [],
  };
}

export function chat(members: User[], overrides: Partial<Chat> = {}): Chat {
  const [first] = members;
  return {
    id: uuid(),
    type: members.length === 2 && !overrides.name ? 'direct' : 'group',
    name: null,
    created_by: first?.id ?? uuid(),
    created_at: '2026-01-01T09:00:00.000Z',
    updated_at: '2026-01-01T09:00:00.000Z',
    participants: members.map((m) => participant(m)),
    last_message: null,
    unread_count: 0,
    version: 0,
    muted: false,
    ...overrides,
  };
}
