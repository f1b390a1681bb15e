import type { Chat, Message } from '@parley/protocol';
import { useEffect, useLayoutEffect, useRef, type UIEvent } from 'react';
import { daysAgo, formatClock, formatDay, formatFull } from '../format.js';
import { seenBy, type Outgoing } from '../state.js';

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
}

interface Row {
  key: string;
  senderId: string;
  senderName: string;
  /** The sender's username: in a group, shown beside a name that could imitate someone's. */
  senderHandle: string;
  content: string;
  createdAt: string;
  system: boolean;
  seq: number | null;
  pending: Outgoing | null;
}

/** Consecutive messages of one sender within this span share one header. */
const GROUP_SPAN_MS = 5 * 60_000;
const NEAR_EDGE_PX = 120;

function toRows(messages: readonly Message[], outgoing: readonly Outgoing[], meId: string): Row[] {
  const stored: Row[] = messages.map((m) => ({
    key: m.id,
    senderId: m.sender_id,
    senderName: m.sender.display_name,
    senderHandle: m.sender.username,
    content: m.content,
    createdAt: m.created_at,
    system: m.message_type === 'system',
    seq: m.seq,
    pending: null,
  }));
  const unsent: Row[] = outgoing.map((o) => ({
    key: o.clientMessageId,
    senderId: meId,
    senderName: 'You',
    senderHandle: '',
    content: o.content,
    createdAt: o.createdAt,
    system: false,
    seq: null,
    pending: o,
  }));
  return [...stored, ...unsent];
}

/** Which of one's own messages carry a receipt, and what it says. */
function receipts(rows: readonly Row[], chat: Chat, meId: string): Map<string, string> {
  const result = new Map<string, string>();
  const own = rows.filter((r) => r.senderId === meId && r.seq !== null && !r.system);
  const newest = own.at(-1);
  const seen = [...own].reverse().find((r) => seenBy(chat, r.seq ?? 0, meId) > 0);
  if (seen) {
    const n = seenBy(chat, seen.seq ?? 0, meId);
    result.set(seen.key, chat.type === 'group' ? `Seen by ${n}` : 'Seen');
  }
  if (newest && newest !== seen) result.set(newest.key, 'Sent');
  return result;
}

export function MessageList(props: MessageListProps) {
  const { chat, meId, messages, outgoing, hasMore, loading, error, now } = props;
  const rows = toRows(messages, outgoing, meId);
  const receiptOf = receipts(rows, chat, meId);
  const ref = useRef<HTMLOListElement>(null);
  const nearBottom = useRef(true);
  const anchor = useRef<{ height: number; top: number; firstKey: string } | null>(null);
  const firstKey = rows[0]?.key ?? '';
  const last = rows.at(-1);
  const lastKey = last?.key ?? '';

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
    if (el.scrollTop < NEAR_EDGE_PX && hasMore && !loading) {
      anchor.current = { height: el.scrollHeight, top: el.scrollTop, firstKey };
      props.onLoadOlder();
    }
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
          const grouped =
            !!prev &&
            !newDay &&
            !prev.system &&
            !row.system &&
            prev.senderId === row.senderId &&
            Date.parse(row.createdAt) - Date.parse(prev.createdAt) < GROUP_SPAN_MS;
          const next = rows[i + 1];
          const groupEnds =
            !next ||
            next.senderId !== row.senderId ||
            next.system ||
            daysAgo(next.createdAt, now) !== daysAgo(row.createdAt, now) ||
            Date.parse(next.createdAt) - Date.parse(row.createdAt) >= GROUP_SPAN_MS;
          const mine = row.senderId === meId;
          const receipt = receiptOf.get(row.key);
          const classes = [
            'message',
            row.system ? 'system' : mine ? 'mine' : 'theirs',
            grouped ? 'grouped' : 'group-start',
            groupEnds ? 'group-end' : '',
            row.pending ? row.pending.status : '',
          ];
          return (
            <li key={row.key} className={classes.filter(Boolean).join(' ')}>
              {newDay && <div className="day-divider">{formatDay(row.createdAt, now)}</div>}
              {row.system ? (
                <p className="system-text">{row.content}</p>
              ) : (
                <>
                  {!grouped && (
                    <div className={`sender${mine ? ' sr-only' : ''}`}>
                      <span className="sender-name">{mine ? 'You' : row.senderName}</span>
                      {!mine && chat.type === 'group' && (
                        <span className="sender-handle"> @{row.senderHandle}</span>
                      )}
                    </div>
                  )}
                  <div className="bubble">
                    <p className="text">{row.content}</p>
                    <time dateTime={row.createdAt} title={formatFull(row.createdAt)}>
                      {formatClock(row.createdAt)}
                    </time>
                  </div>
                  {row.pending?.status === 'sending' && <div className="receipt">Sending…</div>}
                  {row.pending?.status === 'failed' && (
                    <div className="receipt failed">
                      <span>Not sent. {row.pending.error}</span>{' '}
                      <button
                        type="button"
                        className="link-button"
                        onClick={() => props.onRetry(row.key)}
                      >
                        Retry
                      </button>
                    </div>
                  )}
                  {receipt && <div className="receipt">{receipt}</div>}
                </>
              )}
            </li>
          );
        })}
      </ol>
    </div>
  );
}
