import type { Chat, Message } from '@parley/protocol';
import { useEffect, useLayoutEffect, useRef, useState, type UIEvent } from 'react';
import { reportFollowing, reportSeen } from '../client/read-marks.js';
import { daysAgo, formatDay } from '../format.js';
import type { Outgoing } from '../state.js';
import type { MessageActions } from './messageActions.js';
import { MessageItem, type ItemContext, type Row } from './MessageItem.js';
import { namesOf, receipts, toRows, unreadMarkAtOpen } from './messageRows.js';
import { useFocusedMessage } from './useFocusedMessage.js';
import './reading.css';

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
/** Within this of the end counts as at the bottom: the list stays there when it resizes. */
const AT_BOTTOM_PX = 4;
/** Opening at the first unread message loads at most this many older pages to reach it. */
const LANDING_PAGES = 4;
/** Space left above the "Unread messages" separator when the chat opens there. */
const LANDING_MARGIN_PX = 8;

const newMessagesText = (n: number) => `${n} new message${n === 1 ? '' : 's'}`;
/** A message read aloud is cut here: the rest is in the list. */
const ANNOUNCE_CHARS = 300;

/**
 * What a screen reader hears when messages from others arrive in the open chat: one message as
 * "Bob: hello"; several at once (a catch-up after a reconnect) as "5 new messages".
 */
export function arrivalText(arrived: readonly Row[]): string | null {
  const [only] = arrived;
  if (!only) return null;
  if (arrived.length > 1) return newMessagesText(arrived.length);
  const files = only.message?.attachments.length ?? 0;
  const text =
    only.content.trim() !== ''
      ? only.content.trim()
      : files > 0
        ? `sent ${files === 1 ? 'a file' : `${files} files`}`
        : '';
  const cut = text.length > ANNOUNCE_CHARS ? `${text.slice(0, ANNOUNCE_CHARS)}…` : text;
  return `${only.senderName}: ${cut}`;
}

/** Seen: at least half of it on screen, or, for one taller than that, half the screen. */
function onScreen(entry: IntersectionObserverEntry): boolean {
  if (!entry.isIntersecting) return false;
  const room = entry.rootBounds?.height ?? Infinity;
  return entry.intersectionRatio >= 0.5 || entry.intersectionRect.height >= room / 2;
}

export function MessageList(props: MessageListProps) {
  const { chat, meId, messages, outgoing, hasMore, loading, error, now, actions } = props;
  const rows = toRows(messages, outgoing, meId);
  const receiptOf = receipts(rows, chat, meId);
  const ref = useRef<HTMLOListElement>(null);
  const nearBottom = useRef(true);
  /** At the very end: a list that gets shorter (or content that grows) keeps the end in view. */
  const pinned = useRef(true);
  const [away, setAway] = useState(false);
  const leftBottom = useRef(false);
  const [unreadAfter] = useState(() => unreadMarkAtOpen(chat, meId));
  const anchor = useRef<{ height: number; top: number; firstKey: string } | null>(null);
  const highlight = useFocusedMessage(ref, props.focus, messages.length, actions?.clearFocus);
  /** Whether the opening position (first unread, or the end) was taken. */
  const landed = useRef(false);
  const landingPages = useRef(0);
  /** The last row the list followed to the bottom: a later one is news. */
  const followed = useRef<string | null>(null);
  /** Messages up to this seq were seen by the reader before they left the bottom. */
  const [caughtUp, setCaughtUp] = useState(0);
  /** The highest seq seen on screen (IntersectionObserver), while the page was visible. */
  const [seenSeq, setSeenSeq] = useState(0);
  const observers = useRef<{ resize?: ResizeObserver; seen?: IntersectionObserver } | null>(null);
  const observed = useRef(new WeakSet<Element>());
  const firstKey = rows[0]?.key ?? '';
  const last = rows.at(-1);
  const lastKey = last?.key ?? '';
  const newestSeq = rows.findLast((r) => r.seq !== null)?.seq ?? 0;
  const oldestSeq = rows.find((r) => r.seq !== null)?.seq ?? undefined;
  const firstUnread =
    unreadAfter === null ? undefined : rows.find((r) => r.seq !== null && r.seq > unreadAfter);
  const newBelow = rows.filter(
    (r) =>
      r.seq !== null && r.seq > Math.max(caughtUp, seenSeq) && r.senderId !== meId && !r.system,
  ).length;
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

  function measure(el: HTMLElement) {
    const distance = el.scrollHeight - el.scrollTop - el.clientHeight;
    pinned.current = distance < AT_BOTTOM_PX;
    nearBottom.current = distance < NEAR_EDGE_PX;
    // Leaving the bottom: what was there had been seen; what comes after is news.
    if (!nearBottom.current && !leftBottom.current) setCaughtUp((seq) => Math.max(seq, newestSeq));
    leftBottom.current = !nearBottom.current;
    setAway(!nearBottom.current);
  }

  function toBottom(el: HTMLElement) {
    el.scrollTop = el.scrollHeight;
    pinned.current = true;
    nearBottom.current = true;
  }

  // Opening: at the first unread message, under its separator (older pages are loaded to reach
  // it, a few at most); with nothing unread, at the end.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || landed.current || loading || rows.length === 0) return;
    const unreadHeld = oldestSeq === undefined || oldestSeq <= (unreadAfter ?? 0) + 1;
    const reachable = hasMore && !error && landingPages.current < LANDING_PAGES;
    if (unreadAfter !== null && !unreadHeld && reachable) {
      landingPages.current += 1;
      props.onLoadOlder();
      return;
    }
    landed.current = true;
    followed.current = lastKey;
    const item = firstUnread?.message
      ? [...el.children].find(
          (li) => li instanceof HTMLElement && li.dataset.messageId === firstUnread.message?.id,
        )
      : undefined;
    if (!item) {
      toBottom(el);
      return;
    }
    el.scrollTop +=
      item.getBoundingClientRect().top - el.getBoundingClientRect().top - LANDING_MARGIN_PX;
    leftBottom.current = true;
    measure(el);
    setCaughtUp(unreadAfter ?? 0);
  });

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
    if (!el || !landed.current || followed.current === lastKey) return;
    followed.current = lastKey;
    if (nearBottom.current || last?.senderId === meId) toBottom(el);
  }, [lastKey, last?.senderId, meId]);

  // The list and what is in it change size (a composer growing to six lines, a banner, a phone
  // keyboard, a reaction, a late font): at the end, stay at the end. And what is on screen
  // while the page is visible counts as seen, for the read mark and the count of new messages.
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const chatId = chat.id;
    const resize =
      typeof ResizeObserver === 'undefined'
        ? undefined
        : new ResizeObserver(() => {
            if (landed.current && pinned.current) el.scrollTop = el.scrollHeight;
          });
    resize?.observe(el);

    const visible = new Map<HTMLElement, number>();
    let reported = 0;
    const report = () => {
      if (document.visibilityState !== 'visible' || visible.size === 0) return;
      let best: HTMLElement | null = null;
      for (const [li, seq] of visible) if (!best || seq > (visible.get(best) ?? 0)) best = li;
      const seq = best ? (visible.get(best) ?? 0) : 0;
      const messageId = best?.dataset.messageId;
      if (!messageId || seq <= reported) return;
      reported = seq;
      setSeenSeq(seq);
      reportSeen({ chatId, messageId, seq });
    };
    const seen =
      typeof IntersectionObserver === 'undefined'
        ? undefined
        : new IntersectionObserver(
            (entries) => {
              for (const entry of entries) {
                const li = entry.target as HTMLElement;
                const seq = Number(li.dataset.seq);
                if (onScreen(entry) && li.isConnected && seq > 0) visible.set(li, seq);
                else visible.delete(li);
              }
              report();
            },
            { root: el, threshold: [0, 0.25, 0.5, 0.75, 1] },
          );
    document.addEventListener('visibilitychange', report);
    observers.current = { resize, seen };
    observed.current = new WeakSet();
    return () => {
      resize?.disconnect();
      seen?.disconnect();
      document.removeEventListener('visibilitychange', report);
      observers.current = null;
    };
  }, [chat.id]);

  // Each item is watched once it is in the list; none before the opening position is taken,
  // so the messages passed on the way there do not count as seen.
  useLayoutEffect(() => {
    const el = ref.current;
    const { resize, seen } = observers.current ?? {};
    if (!el || !landed.current) return;
    for (const li of el.children) {
      if (observed.current.has(li)) continue;
      observed.current.add(li);
      resize?.observe(li);
      seen?.observe(li);
    }
  });

  // A first page that does not fill the view leaves nothing to scroll: fetch more right away.
  useEffect(() => {
    const el = ref.current;
    if (el && hasMore && !loading && el.scrollHeight <= el.clientHeight) props.onLoadOlder();
  });

  // Scrolled up, what arrives is not seen: its chat's unread count waits for the list to show it.
  const chatId = chat.id;
  useEffect(() => {
    reportFollowing({ chatId, following: !away });
  }, [chatId, away]);
  useEffect(() => () => reportFollowing({ chatId, following: true }), [chatId]);

  // New messages from others, read aloud (a polite live region): not what was there on opening,
  // not older history loaded on scrolling up (it has lower seqs), not my own.
  const announcedUpTo = useRef<number | null>(null);
  const [announcement, setAnnouncement] = useState<{ text: string; n: number } | null>(null);
  useEffect(() => {
    if (loading && announcedUpTo.current === null) return;
    const from = announcedUpTo.current;
    if (from !== null && newestSeq <= from) return;
    announcedUpTo.current = newestSeq;
    if (from === null) return;
    const text = arrivalText(
      rows.filter(
        (r) => r.seq !== null && r.seq > from && r.senderId !== meId && !r.system && r.message,
      ),
    );
    // A new node each time: the same words twice ("ok", "ok") are read twice.
    if (text) setAnnouncement((a) => ({ text, n: (a?.n ?? 0) + 1 }));
  }, [newestSeq, loading, rows, meId]);

  function onScroll(e: UIEvent<HTMLOListElement>) {
    const el = e.currentTarget;
    measure(el);
    if (landed.current && el.scrollTop < NEAR_EDGE_PX && hasMore && !loading) {
      anchor.current = { height: el.scrollHeight, top: el.scrollTop, firstKey };
      props.onLoadOlder();
    }
  }

  function jumpToLatest() {
    const el = ref.current;
    if (!el) return;
    toBottom(el);
    leftBottom.current = false;
    setAway(false);
    // The button goes away: focus goes to the list it scrolled, not to the page.
    el.focus({ preventScroll: true });
  }

  return (
    <div className="messages-wrap">
      <div className="sr-only message-announcer" aria-live="polite" aria-atomic="true">
        {announcement && <span key={announcement.n}>{announcement.text}</span>}
      </div>
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
        <button
          type="button"
          className={`jump-latest${newBelow > 0 ? ' has-new' : ''}`}
          // The count is what shows; the name still says what the button does, then the count.
          aria-label={newBelow > 0 ? `Jump to latest, ${newMessagesText(newBelow)}` : undefined}
          onClick={jumpToLatest}
        >
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
            <path d="M12 5v14M6 13l6 6 6-6" fill="none" stroke="currentColor" strokeWidth="2" />
          </svg>
          {newBelow > 0 ? newMessagesText(newBelow) : 'Jump to latest'}
        </button>
      )}
    </div>
  );
}
