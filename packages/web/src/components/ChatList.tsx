import type { Chat } from '@parley/protocol';
import type { MouseEvent } from 'react';
import { formatListTime, presenceText } from '../format.js';
import { chatPath } from '../router.js';
import { chatTitle, otherParticipant } from '../state.js';
import { attachmentSummary } from './AttachmentList.js';
import { Avatar } from './Avatar.js';
import './search.css';

interface ChatListProps {
  chats: readonly Chat[];
  meId: string;
  openChatId: string | null;
  loaded: boolean;
  now: Date;
  onOpen: (chatId: string) => void;
  /** Mutes or unmutes a chat's notifications (a button on each row, shown on hover or focus). */
  onToggleMute?: (chat: Chat) => void;
}

function preview(chat: Chat, meId: string): string {
  const m = chat.last_message;
  if (!m) return chat.type === 'group' ? 'Group created' : 'No messages yet';
  if (m.message_type === 'system') return m.content;
  // A message of attachments alone says what it carries: "Photo", or the file's name.
  const text =
    m.content.trim() === '' && m.attachments.length > 0 ? attachmentSummary(m) : m.content;
  if (m.sender_id === meId) return `You: ${text}`;
  return chat.type === 'group' ? `${m.sender.display_name}: ${text}` : text;
}

/** Messages above my read mark that mention me. */
const unreadMentions = (chat: Chat, meId: string): number =>
  chat.participants.find((p) => p.id === meId)?.unread_mentions ?? 0;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * The person's chats, newest activity first (the order is the caller's): unread counts, an "@"
 * badge for unread mentions, and muted chats drawn quieter.
 */
export function ChatList({
  chats,
  meId,
  openChatId,
  loaded,
  now,
  onOpen,
  onToggleMute,
}: ChatListProps) {
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
        const mentions = unreadMentions(chat, meId);
        // One clear sentence for screen readers, starting with the chat's name: the link's name
        // comes from it (an sr-only span), and the row drawn for the eye is hidden from them. An
        // aria-label instead would name the link with words in another order than it shows.
        const label = [
          title,
          other ? presenceText(other, now) : null,
          preview(chat, meId),
          time || null,
          chat.unread_count > 0 ? `${chat.unread_count} unread` : null,
          mentions > 0 ? plural(mentions, 'unread mention', 'unread mentions') : null,
          chat.muted ? 'muted' : null,
        ]
          .filter(Boolean)
          .join(', ');
        const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
          if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
          e.preventDefault();
          onOpen(chat.id);
        };
        return (
          <li key={chat.id} className="chat-row">
            <a
              href={chatPath(chat.id)}
              className={`chat-item${active ? ' active' : ''}${chat.unread_count > 0 ? ' unread' : ''}${chat.muted ? ' muted' : ''}`}
              aria-current={active ? 'page' : undefined}
              onClick={onClick}
            >
              <span className="sr-only">{label}</span>
              <Avatar id={other?.id ?? chat.id} name={title} status={other?.status} />
              <span className="chat-item-body" aria-hidden="true">
                <span className="chat-item-top">
                  <span className="chat-item-name">{title}</span>
                  {chat.muted && <MutedIcon />}
                  <time className="chat-item-time" dateTime={chat.last_message?.created_at}>
                    {time}
                  </time>
                </span>
                <span className="chat-item-bottom">
                  <span className="chat-item-preview">{preview(chat, meId)}</span>
                  {mentions > 0 && (
                    <span className="mention-badge" aria-hidden="true">
                      @{mentions}
                    </span>
                  )}
                  {chat.unread_count > 0 && <span className="badge">{chat.unread_count}</span>}
                </span>
              </span>
            </a>
            {onToggleMute && (
              <button
                type="button"
                className="icon-button chat-mute"
                aria-label={`${chat.muted ? 'Unmute' : 'Mute'} ${title}`}
                title={chat.muted ? 'Unmute' : 'Mute'}
                onClick={() => onToggleMute(chat)}
              >
                {chat.muted ? <BellIcon /> : <MutedIcon />}
              </button>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** A bell struck through: the chat does not notify. */
function MutedIcon() {
  return (
    <svg className="muted-icon" viewBox="0 0 24 24" width="14" height="14" aria-hidden="true">
      <path
        d="M18 16v-5a6 6 0 0 0-9.3-5M6.3 8.6A6 6 0 0 0 6 11v5l-2 2h13M10 21h4M3 3l18 18"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}

/** A bell: the chat notifies (again). */
function BellIcon() {
  return (
    <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
      <path
        d="M18 16v-5a6 6 0 0 0-12 0v5l-2 2h16l-2-2zM10 21h4"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}
