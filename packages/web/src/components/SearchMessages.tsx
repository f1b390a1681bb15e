import type { Chat, Message } from '@parley/protocol';
import {
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
  type KeyboardEvent,
  type ReactNode,
} from 'react';
import { formatFull, formatListTime } from '../format.js';
import { chatTitle } from '../state.js';
import './search.css';

export interface SearchPage {
  messages: Message[];
  has_more: boolean;
}

interface SearchMessagesProps {
  search: (query: { q: string; before?: string }) => Promise<SearchPage>;
  /** The chats held, to name each result's chat. */
  chats: readonly Chat[];
  meId: string;
  now: Date;
  /** A result was chosen: open its chat at the message. */
  onOpen: (message: Message) => void;
  /** Whether a query is typed (the sidebar then shows the results instead of the chat list). */
  onActiveChange?: (active: boolean) => void;
  debounceMs?: number;
}

/** The server takes 1 to 200 characters. */
const QUERY_MAX = 200;
const SNIPPET_MAX = 140;
const SNIPPET_LEAD = 40;

type Phase = 'idle' | 'searching' | 'done' | 'error';

interface Results {
  q: string;
  messages: Message[];
  hasMore: boolean;
}

/**
 * "Search messages" over every chat: results as the list "Search results", newest first, with
 * the matched words emphasised; "Load more" pages on with `before`. Ctrl+K (⌘K) goes to the
 * field, arrow keys move between it and the results, Escape clears the search.
 */
export function SearchMessages({
  search,
  chats,
  meId,
  now,
  onOpen,
  onActiveChange,
  debounceMs = 300,
}: SearchMessagesProps) {
  const [query, setQuery] = useState('');
  const [phase, setPhase] = useState<Phase>('idle');
  const [results, setResults] = useState<Results | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<string | null>(null);
  const [chosenId, setChosenId] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const fieldId = useId();
  const statusId = useId();
  const fieldRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  // The query the newest request is for: an answer to an older one is dropped.
  const current = useRef('');

  const q = query.trim().slice(0, QUERY_MAX);
  const active = q.length > 0;

  useEffect(() => onActiveChange?.(active), [active, onActiveChange]);

  // Ctrl+K (⌘K) from anywhere in the app goes to the field, unless a dialog holds the page.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      const field = fieldRef.current;
      if (e.key.toLowerCase() !== 'k' || !(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey)
        return;
      if (!field || field.closest('[inert]')) return;
      e.preventDefault();
      field.focus();
      field.select();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    current.current = q;
    setMoreError(null);
    if (!q) {
      setResults(null);
      setPhase('idle');
      return;
    }
    setPhase('searching');
    const timer = setTimeout(() => {
      search({ q }).then(
        (page) => {
          if (current.current !== q) return;
          setResults({ q, messages: page.messages, hasMore: page.has_more });
          setPhase('done');
        },
        (err: unknown) => {
          if (current.current !== q) return;
          setResults(null);
          setError(errorMessage(err));
          setPhase('error');
        },
      );
    }, debounceMs);
    return () => clearTimeout(timer);
  }, [q, search, debounceMs, attempt]);

  const loadMore = useCallback(() => {
    if (!results || loadingMore) return;
    const last = results.messages.at(-1);
    if (!last) return;
    setLoadingMore(true);
    setMoreError(null);
    search({ q: results.q, before: last.id }).then(
      (page) => {
        setLoadingMore(false);
        if (current.current !== results.q) return;
        setResults((r) =>
          r && r.q === results.q
            ? { q: r.q, messages: appendNew(r.messages, page.messages), hasMore: page.has_more }
            : r,
        );
      },
      (err: unknown) => {
        setLoadingMore(false);
        if (current.current === results.q) setMoreError(errorMessage(err));
      },
    );
  }, [results, loadingMore, search]);

  const clear = () => {
    setQuery('');
    setChosenId(null);
    fieldRef.current?.focus();
  };

  const resultButtons = () =>
    Array.from(listRef.current?.querySelectorAll<HTMLButtonElement>('.search-result') ?? []);

  const onFieldKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Escape' && query) {
      e.preventDefault();
      clear();
    } else if (e.key === 'ArrowDown') {
      const first = resultButtons()[0];
      if (first) {
        e.preventDefault();
        first.focus();
      }
    }
  };

  const onListKey = (e: KeyboardEvent<HTMLUListElement>) => {
    const buttons = resultButtons();
    const at = buttons.findIndex((b) => b === document.activeElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      clear();
    } else if (e.key === 'ArrowDown' && at >= 0 && at < buttons.length - 1) {
      e.preventDefault();
      buttons[at + 1]?.focus();
    } else if (e.key === 'ArrowUp' && at >= 0) {
      e.preventDefault();
      if (at === 0) fieldRef.current?.focus();
      else buttons[at - 1]?.focus();
    }
  };

  // While a changed query is on its way the previous results stay, marked busy, so the list does
  // not blink with every key.
  const shown = results;
  const words = queryWords(shown?.q ?? q);

  return (
    <div className={`message-search${active ? ' active' : ''}`} role="search">
      <div className="message-search-field">
        <label htmlFor={fieldId} className="sr-only">
          Search messages
        </label>
        <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
          <circle cx="11" cy="11" r="6.5" fill="none" stroke="currentColor" strokeWidth="2" />
          <path d="M16 16l4.5 4.5" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
        </svg>
        <input
          id={fieldId}
          ref={fieldRef}
          type="search"
          value={query}
          maxLength={QUERY_MAX}
          autoComplete="off"
          spellCheck={false}
          placeholder="Search messages"
          aria-describedby={statusId}
          aria-keyshortcuts="Control+K Meta+K"
          onChange={(e) => {
            setQuery(e.target.value);
            setChosenId(null);
          }}
          onKeyDown={onFieldKey}
        />
        {query && (
          <button type="button" className="icon-button message-search-clear" onClick={clear}>
            <svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true">
              <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" strokeWidth="2" />
            </svg>
            <span className="sr-only">Clear search</span>
          </button>
        )}
      </div>
      <p id={statusId} className="message-search-status" aria-live="polite">
        {active && phase === 'searching' && 'Searching…'}
        {active && phase === 'done' && shown?.messages.length === 0 && (
          <>No messages match “{shown.q}”.</>
        )}
        {active &&
          phase === 'done' &&
          shown &&
          shown.messages.length > 0 &&
          `${shown.messages.length}${shown.hasMore ? '+' : ''} ${shown.messages.length === 1 && !shown.hasMore ? 'message' : 'messages'} found.`}
      </p>
      {active && phase === 'error' && (
        <div className="message-search-error" role="alert">
          <span>Search failed: {error}</span>
          <button type="button" className="ghost small" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </div>
      )}
      {active && phase !== 'error' && shown && shown.messages.length > 0 && (
        <>
          <ul
            ref={listRef}
            className="search-results"
            aria-label="Search results"
            aria-busy={phase === 'searching' || loadingMore}
            onKeyDown={onListKey}
          >
            {shown.messages.map((m) => (
              <li key={m.id}>
                <SearchResult
                  message={m}
                  chat={chats.find((c) => c.id === m.chat_id)}
                  meId={meId}
                  now={now}
                  words={words}
                  chosen={m.id === chosenId}
                  onOpen={() => {
                    setChosenId(m.id);
                    onOpen(m);
                  }}
                />
              </li>
            ))}
          </ul>
          {moreError && (
            <p className="message-search-error" role="alert">
              Could not load more: {moreError}
            </p>
          )}
          {shown.hasMore && (
            <button
              type="button"
              className="secondary small message-search-more"
              disabled={loadingMore}
              onClick={loadMore}
            >
              {loadingMore ? 'Loading…' : 'Load more'}
            </button>
          )}
        </>
      )}
    </div>
  );
}

function SearchResult(props: {
  message: Message;
  chat: Chat | undefined;
  meId: string;
  now: Date;
  words: string[];
  chosen: boolean;
  onOpen: () => void;
}) {
  const { message: m, chat, meId, now, words } = props;
  const title = chat ? chatTitle(chat, meId) : 'A chat';
  const sender = m.sender_id === meId ? 'You' : m.sender.display_name;
  return (
    <button
      type="button"
      className={`search-result${props.chosen ? ' chosen' : ''}`}
      aria-current={props.chosen ? 'true' : undefined}
      onClick={props.onOpen}
    >
      <span className="search-result-top">
        <span className="search-result-chat">{title}</span>
        <time
          className="search-result-time"
          dateTime={m.created_at}
          title={formatFull(m.created_at)}
        >
          {formatListTime(m.created_at, now)}
        </time>
      </span>
      <span className="search-result-text">
        <span className="search-result-sender">{sender}: </span>
        {highlight(snippet(m.content, words), words)}
      </span>
    </button>
  );
}

function appendNew(held: Message[], page: Message[]): Message[] {
  const ids = new Set(held.map((m) => m.id));
  return [...held, ...page.filter((m) => !ids.has(m.id))];
}

function errorMessage(err: unknown): string {
  return err instanceof Error && err.message ? err.message : 'Something went wrong.';
}

// ---- matching, as the server does it: any case, accents ignored, a word's prefix -------------

/** Scripts written without spaces: the server matches their words anywhere, not at a word start. */
const NO_SPACES =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
const WORD_CHAR = /[\p{L}\p{N}\p{M}_]/u;

/** Lower case without accents: "Crème" → "creme". */
const fold = (s: string): string => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

export function queryWords(q: string): string[] {
  const words = q
    .split(/\s+/u)
    .map((w) => fold(w).replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ''))
    .filter((w) => w.length > 0);
  // Longer words first, so that "cafe" wins over "ca" where both match.
  return [...new Set(words)].sort((a, b) => b.length - a.length);
}

interface Folded {
  text: string;
  /** For each code unit of `text`, the index of the code unit of the original it came from. */
  origin: number[];
}

function foldWithOrigin(s: string): Folded {
  let text = '';
  const origin: number[] = [];
  let i = 0;
  for (const ch of s) {
    const f = fold(ch);
    text += f;
    for (let k = 0; k < f.length; k++) origin.push(i);
    i += ch.length;
  }
  return { text, origin };
}

/** [start, end) ranges of the original `s` that match one of `words`, merged and in order. */
export function matchRanges(s: string, words: readonly string[]): [number, number][] {
  const { text, origin } = foldWithOrigin(s);
  const ranges: [number, number][] = [];
  for (const word of words) {
    const anywhere = NO_SPACES.test(word);
    let from = 0;
    for (;;) {
      const at = text.indexOf(word, from);
      if (at < 0) break;
      from = at + 1;
      const before = at > 0 ? text[at - 1] : undefined;
      if (!anywhere && before !== undefined && WORD_CHAR.test(before)) continue;
      const start = origin[at] ?? 0;
      const lastOrigin = origin[at + word.length - 1] ?? start;
      // Through the whole original character the last folded unit came from (é, surrogates).
      const end = lastOrigin + ((s.codePointAt(lastOrigin) ?? 0) > 0xffff ? 2 : 1);
      ranges.push([start, extendMarks(s, end)]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** Combining marks after a match belong to its last letter ("e" + U+0301). */
function extendMarks(s: string, end: number): number {
  let e = end;
  while (e < s.length && /\p{M}/u.test(s[e]!)) e++;
  return e;
}

/** At most SNIPPET_MAX characters of `content`, starting a little before the first match. */
export function snippet(content: string, words: readonly string[]): string {
  const flat = content.replace(/\s+/gu, ' ').trim();
  if (flat.length <= SNIPPET_MAX) return flat;
  const first = matchRanges(flat, words)[0]?.[0] ?? 0;
  let start = first > SNIPPET_LEAD ? first - SNIPPET_LEAD : 0;
  // Start at a word boundary when there is one close by.
  if (start > 0) {
    const space = flat.indexOf(' ', start);
    if (space >= 0 && space < first) start = space + 1;
  }
  const end = unitBoundary(flat, Math.min(flat.length, start + SNIPPET_MAX));
  start = unitBoundary(flat, start);
  return `${start > 0 ? '…' : ''}${flat.slice(start, end)}${end < flat.length ? '…' : ''}`;
}

/** Moves an index off the second half of a surrogate pair, so no emoji is cut in two. */
function unitBoundary(s: string, i: number): number {
  const code = s.charCodeAt(i);
  return code >= 0xdc00 && code <= 0xdfff ? i + 1 : i;
}

function highlight(text: string, words: readonly string[]): ReactNode[] {
  const out: ReactNode[] = [];
  let at = 0;
  for (const [start, end] of matchRanges(text, words)) {
    if (start > at) out.push(text.slice(at, start));
    out.push(<mark key={start}>{text.slice(start, end)}</mark>);
    at = end;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}
