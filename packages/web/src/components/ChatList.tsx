import type { Chat } from '@parley/protocol';
import type { MouseEvent } from 'react';
import { formatListTime, presenceText } from '../format.js';
import { chatPath } from '../router.js';
import { chatTitle, otherParticipant } from '../state.js';
import { Avatar } from './Avatar.js';

interface ChatListProps {
  chats: readonly Chat[];
  meId: string;
  openChatId: string | null;
  loaded: boolean;
  now: Date;
  onOpen: (chatId: string) => void;
}

function preview(chat: Chat, meId: string): string {
  const m = chat.last_message;
  if (!m) return chat.type === 'group' ? 'Group created' : 'No messages yet';
  if (m.message_type === 'system') return m.content;
  if (m.sender_id === meId) return `You: ${m.content}`;
  return chat.type === 'group' ? `${m.sender.display_name}: ${m.content}` : m.content;
}

/** The person's chats, newest activity first (the order is the caller's). */
export function ChatList({ chats, meId, openChatId, loaded, now, onOpen }: ChatListProps) {
  if (loaded && chats.length === 0) {
    return (
      <p className="chat-list-empty">
        No conversations yet. Find someone to talk to with the buttons above.
      </p>
    );
  }
  return (
    <ul className="chat-list" aria-label="Chats" aria-busy={!loaded}>
      {chats.map((chat) => {
        const title = chatTitle(chat, meId);
        const other = chat.type === 'direct' ? otherParticipant(chat, meId) : undefined;
        const active = chat.id === openChatId;
        const time = chat.last_message ? formatListTime(chat.last_message.created_at, now) : '';
        // One clear sentence for screen readers, starting with the chat's name.
        const label = [
          title,
          other ? presenceText(other, now) : null,
          preview(chat, meId),
          time || null,
          chat.unread_count > 0 ? `${chat.unread_count} unread` : null,
        ]
          .filter(Boolean)
          .join(', ');
        const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
          if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
          e.preventDefault();
          onOpen(chat.id);
        };
        return (
          <li key={chat.id}>
            <a
              href={chatPath(chat.id)}
              className={`chat-item${active ? ' active' : ''}${chat.unread_count > 0 ? ' unread' : ''}`}
              aria-current={active ? 'page' : undefined}
              aria-label={label}
              onClick={onClick}
            >
              <Avatar id={other?.id ?? chat.id} name={title} status={other?.status} />
              <span className="chat-item-body">
                <span className="chat-item-top">
                  <span className="chat-item-name">{title}</span>
                  <time className="chat-item-time" dateTime={chat.last_message?.created_at}>
                    {time}
                  </time>
                </span>
                <span className="chat-item-bottom">
                  <span className="chat-item-preview">{preview(chat, meId)}</span>
                  {chat.unread_count > 0 && <span className="badge">{chat.unread_count}</span>}
                </span>
              </span>
            </a>
          </li>
        );
      })}
    </ul>
  );
}
