import type { Chat, Message } from '@parley/protocol';
import { useEffect, useLayoutEffect, useRef, useState, type UIEvent } from 'react';
import { daysAgo, formatDay } from '../format.js';
import type { Outgoing } from '../state.js';
import type { MessageActions } from './messageActions.js';
import { MessageItem, type ItemContext } from './MessageItem.js';
import { namesOf, receipts, toRows, unreadMarkAtOpen } from './messageRows.js';
import { useFocusedMessage } from './useFocusedMessage.js';

interface MessageListProps {
  chat: Chat;
  meId: string;
  messages: readonly Message[];
  outgoing: readonly Outgoing[];
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  now: Date;
  onLoadOlder: () => void;
  onRetry: (clientMessageId: string) => void;
  /** Edit, delete, react, edit history, showing a quoted message; without them, read only. */
  actions?: MessageActions;
  onReply?: (message: Message) => void;
  /** A message to scroll to and highlight (state.focus of this chat); `nonce` asks again. */
  focus?: { messageId: string; nonce: number } | null;
}

/** Consecutive messages of one sender within this span share one header. */
const GROUP_SPAN_MS = 5 * 60_000;
const NEAR_EDGE_PX = 120;

export function MessageList(props: MessageListProps) {
  const { chat, meId, messages, outgoing, hasMore, loading, error, now, actions } = props;
  const rows = toRows(messages, outgoing, meId);
  const receiptOf = receipts(rows, chat, meId);
  const ref = useRef<HTMLOListElement>(null);
  const nearBottom = useRef(true);
  const [away, setAway] = useState(false);
  const [unreadAfter] = useState(() => unreadMarkAtOpen(chat, meId));
  const anchor = useRef<{ height: number; top: number; firstKey: string } | null>(null);
  const highlight = useFocusedMessage(ref, props.focus, messages.length, actions?.clearFocus);
  const firstKey = rows[0]?.key ?? '';
  const last = rows.at(-1);
  const lastKey = last?.key ?? '';
  const firstUnread =
    unreadAfter === null ? undefined : rows.find((r) => r.seq !== null && r.seq > unreadAfter);
  const me = chat.participants.find((p) => p.id === meId);
  const ctx: ItemContext = {
    meId,
    meUsername: me?.username ?? '',
    group: chat.type === 'group',
    moderator: chat.type === 'group' && (me?.role === 'owner' || me?.role === 'admin'),
    nameOf: namesOf(chat, messages),
    actions,
    onReply: props.onReply,
    onRetry: props.onRetry,
  };

  // Older messages were put above: keep what the reader was looking at where it was.
  useLayoutEffect(() => {
    const el = ref.current;
    const saved = anchor.current;
    if (!el || !saved || saved.firstKey === firstKey) return;
    el.scrollTop = el.scrollHeight - saved.height + saved.top;
    anchor.current = null;
  }, [firstKey]);

  // A new message at the bottom: follow it if the reader was at the bottom, or wrote it.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (nearBottom.current || last?.senderId === meId) el.scrollTop = el.scrollHeight;
  }, [lastKey, last?.senderId, meId]);

  // A first page that does not fill the view leaves nothing to scroll: fetch more right away.
  useEffect(() => {
    const el = ref.current;
    if (el && hasMore && !loading && el.scrollHeight <= el.clientHeight) props.onLoadOlder();
  });

  function onScroll(e: UIEvent<HTMLOListElement>) {
    const el = e.currentTarget;
    nearBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_EDGE_PX;
    setAway(!nearBottom.current);
    if (el.scrollTop < NEAR_EDGE_PX && hasMore && !loading) {
      anchor.current = { height: el.scrollHeight, top: el.scrollTop, firstKey };
      props.onLoadOlder();
    }
  }

  function jumpToLatest() {
    const el = ref.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    nearBottom.current = true;
    setAway(false);
    // The button goes away: focus goes to the list it scrolled, not to the page.
    el.focus({ preventScroll: true });
  }

  return (
    <div className="messages-wrap">
      {!loading && !error && messages.length === 0 && outgoing.length === 0 && (
        <div className="messages-empty">No messages yet. Say hello!</div>
      )}
      {(loading || error) && (
        <div className={`messages-note${error ? ' error' : ''}`}>
          {error ?? (messages.length > 0 ? 'Loading older messages…' : 'Loading messages…')}
        </div>
      )}
      <ol
        ref={ref}
        className="messages"
        aria-label="Messages"
        tabIndex={0}
        onScroll={onScroll}
        aria-busy={loading}
      >
        {rows.map((row, i) => {
          const prev = rows[i - 1];
          const newDay = !prev || daysAgo(prev.createdAt, now) !== daysAgo(row.createdAt, now);
          const unreadStart = row === firstUnread;
          const grouped =
            !!prev &&
            !newDay &&
            !unreadStart &&
            !prev.system &&
            !row.system &&
            prev.senderId === row.senderId &&
            Date.parse(row.createdAt) - Date.parse(prev.createdAt) < GROUP_SPAN_MS;
          const next = rows[i + 1];
          const groupEnds =
            !next ||
            next === firstUnread ||
            next.senderId !== row.senderId ||
            next.system ||
            daysAgo(next.createdAt, now) !== daysAgo(row.createdAt, now) ||
            Date.parse(next.createdAt) - Date.parse(row.createdAt) >= GROUP_SPAN_MS;
          const mine = row.senderId === meId;
          const classes = [
            'message',
            row.system ? 'system' : mine ? 'mine' : 'theirs',
            grouped ? 'grouped' : 'group-start',
            groupEnds ? 'group-end' : '',
            row.pending ? row.pending.status : '',
            row.key === highlight ? 'highlight' : '',
          ];
          return (
            <MessageItem
              key={row.key}
              row={row}
              ctx={ctx}
              className={classes.filter(Boolean).join(' ')}
              showSender={!grouped}
              receipt={receiptOf.get(row.key)}
              before={
                <>
                  {newDay && <div className="day-divider">{formatDay(row.createdAt, now)}</div>}
                  {unreadStart && (
                    <div className="unread-divider">
                      <span>Unread messages</span>
                    </div>
                  )}
                </>
              }
            />
          );
        })}
      </ol>
      {away && (
        <button type="button" className="jump-latest" onClick={jumpToLatest}>
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
            <path d="M12 5v14M6 13l6 6 6-6" fill="none" stroke="currentColor" strokeWidth="2" />
          </svg>
          Jump to latest
        </button>
      )}
    </div>
  );
}
