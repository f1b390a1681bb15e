import type { Chat, User } from '@parley/protocol';
import { useEffect, useId, useRef, useState, type MouseEvent } from 'react';
import { formatListTime, presenceText } from '../format.js';
import { chatPath } from '../router.js';
import { chatTitle, otherParticipant, type State } from '../state.js';
import { attachmentSummary } from './AttachmentList.js';
import { Avatar } from './Avatar.js';
import { MessageMenu, type MenuItem } from './MessageMenu.js';
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
  /** Older chats on the server beyond the pages loaded. */
  older?: State['olderChats'];
  /** Loads the next older page ("Load more chats", or scrolling to the list's end). */
  onLoadOlder?: () => void;
  /** Loads every older page: a filter has to look through them all. */
  onLoadAll?: () => void;
  /** Blocks (asking first) the other person of a direct chat, from the row's menu. */
  onBlock?: (user: User) => void;
  onUnblock?: (user: User) => void;
  /** Ids of the people I blocked: their row's menu offers Unblock instead. */
  blockedIds?: ReadonlySet<string>;
}

/** Folded for matching: any case, accents ignored ("zoe" finds "Zoë"). */
const fold = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/**
 * The list with its "Filter chats" box: as one types, only chats whose title holds the text stay.
 * The list arrives by pages; a filter loads the older ones too, so that it finds every chat.
 */
export function ChatList(props: ChatListProps) {
  const { chats, meId, loaded, older = 'none', onLoadAll } = props;
  const [filter, setFilter] = useState('');
  const fieldId = useId();
  const statusId = useId();
  const q = fold(filter.trim());
  const filtering = q !== '';

  // A filter must see every chat: the pages not loaded yet come, one after another.
  const wantAll = filtering && older === 'more';
  useEffect(() => {
    if (wantAll) onLoadAll?.();
  }, [wantAll, onLoadAll]);

  if (loaded && chats.length === 0 && older === 'none') {
    return (
      <p className="chat-list-empty">
        No conversations yet. Find someone to talk to with the buttons above.
      </p>
    );
  }
  const shown = filtering ? chats.filter((c) => fold(chatTitle(c, meId)).includes(q)) : chats;
  const searchingOlder = filtering && older !== 'none';
  const status = !filtering
    ? ''
    : shown.length === 0
      ? searchingOlder
        ? 'Looking through older chats…'
        : `No chats match “${filter.trim()}”.`
      : `${shown.length} ${shown.length === 1 ? 'chat matches' : 'chats match'}${searchingOlder ? ', looking through older chats…' : '.'}`;

  return (
    <>
      <div className="chat-filter">
        <label htmlFor={fieldId} className="sr-only">
          Filter chats
        </label>
        <input
          id={fieldId}
          type="search"
          value={filter}
          placeholder="Filter chats"
          autoComplete="off"
          spellCheck={false}
          aria-describedby={statusId}
          onChange={(e) => setFilter(e.target.value)}
        />
        <p id={statusId} className="chat-filter-status" aria-live="polite">
          {status}
        </p>
      </div>
      <Rows {...props} chats={shown} />
      {!filtering && older !== 'none' && (
        <LoadOlder loading={older === 'loading'} onLoad={props.onLoadOlder} />
      )}
    </>
  );
}

/**
 * "Load more chats" at the end of the list; it also loads by itself when scrolled into view
 * (where the browser can tell), so that scrolling down just goes on.
 */
function LoadOlder({ loading, onLoad }: { loading: boolean; onLoad?: () => void }) {
  const ref = useRef<HTMLButtonElement>(null);
  const onLoadRef = useRef(onLoad);
  onLoadRef.current = onLoad;
  useEffect(() => {
    const button = ref.current;
    if (!button || loading || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) onLoadRef.current?.();
    });
    observer.observe(button);
    return () => observer.disconnect();
  }, [loading]);
  return (
    <div className="chat-list-more">
      <button
        ref={ref}
        type="button"
        className="ghost small"
        aria-disabled={loading || undefined}
        onClick={() => !loading && onLoad?.()}
      >
        {loading ? 'Loading more chats…' : 'Load more chats'}
      </button>
    </div>
  );
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
function Rows({
  chats,
  meId,
  openChatId,
  loaded,
  now,
  onOpen,
  onToggleMute,
  onBlock,
  onUnblock,
  blockedIds,
}: ChatListProps) {
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
            <RowMenu
              chat={chat}
              title={title}
              other={other}
              onToggleMute={onToggleMute}
              onBlock={onBlock}
              onUnblock={onUnblock}
              blocked={other ? (blockedIds?.has(other.id) ?? false) : false}
            />
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

interface RowMenuProps {
  chat: Chat;
  title: string;
  other: User | undefined;
  onToggleMute?: ((chat: Chat) => void) | undefined;
  onBlock?: ((user: User) => void) | undefined;
  onUnblock?: ((user: User) => void) | undefined;
  blocked: boolean;
}

/** "Options for <chat>": Mute or Unmute, and on a direct chat Block or Unblock its person. */
function RowMenu({ chat, title, other, onToggleMute, onBlock, onUnblock, blocked }: RowMenuProps) {
  const buttonRef = useRef<HTMLButtonElement>(null);
  const items: MenuItem[] = [];
  if (onToggleMute) {
    items.push({ label: chat.muted ? 'Unmute' : 'Mute', onSelect: () => onToggleMute(chat) });
  }
  if (other && blocked && onUnblock) {
    items.push({ label: 'Unblock', onSelect: () => onUnblock(other) });
  } else if (other && onBlock) {
    items.push({ label: 'Block', onSelect: () => onBlock(other), danger: true });
  }
  if (items.length === 0) return null;
  return (
    <div className="chat-row-menu">
      <MessageMenu items={items} buttonRef={buttonRef} label={`Options for ${title}`} />
    </div>
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
