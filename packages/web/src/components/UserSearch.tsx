import type { Chat, User } from '@parley/protocol';
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { Avatar } from './Avatar.js';

interface UserSearchProps {
  search: (q: string) => Promise<User[]>;
  /** Shown before anything is typed: the people one already has chats with (see recentPeople). */
  suggestions?: readonly User[];
  /** Users to leave out of the results, e.g. a group's members. */
  exclude?: ReadonlySet<string>;
  /** Shown first and kept while the query changes, e.g. those already picked. */
  pinned?: readonly User[];
  /** With `selected`, the list is multi-select: choosing toggles (aria-selected is "picked"). */
  selected?: ReadonlySet<string>;
  onChoose: (user: User) => void;
  busyUserId?: string | null;
}

const DEBOUNCE_MS = 200;

const optionIdOf = (listId: string, i: number) => `${listId}-${i}`;
const MAX_SUGGESTIONS = 20;

/**
 * The people of my chats, most recent activity first (the order of the chat list), once each:
 * whom one most likely wants to write to or add.
 */
export function recentPeople(chats: readonly Chat[], meId: string): User[] {
  const seen = new Set<string>([meId]);
  const people: User[] = [];
  for (const chat of chats) {
    for (const p of chat.participants) {
      if (seen.has(p.id)) continue;
      seen.add(p.id);
      const { id, username, display_name, avatar_url, status, last_seen_at, created_at } = p;
      people.push({ id, username, display_name, avatar_url, status, last_seen_at, created_at });
      if (people.length === MAX_SUGGESTIONS) return people;
    }
  }
  return people;
}

/**
 * The "Search users" field and its results, as a WAI-ARIA combobox: the field keeps focus and
 * points at the active option (aria-activedescendant); ArrowUp/ArrowDown move, Enter chooses, a
 * click chooses too. Each option is named by the display name it shows, with @username as its
 * description. Before anything is typed it offers `suggestions`.
 */
export function UserSearch({
  search,
  suggestions = [],
  exclude,
  pinned = [],
  selected,
  onChoose,
  busyUserId = null,
}: UserSearchProps) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<User[]>([]);
  const [state, setState] = useState<'idle' | 'searching' | 'done' | 'error'>('idle');
  const [error, setError] = useState<string | null>(null);
  /** The active option's index in `shown`, -1 for none. */
  const [active, setActive] = useState(-1);
  const fieldId = useId();
  const statusId = useId();
  const listId = useId();
  const listRef = useRef<HTMLUListElement>(null);

  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setResults([]);
      setState('idle');
      return;
    }
    let current = true;
    setState('searching');
    const timer = setTimeout(() => {
      search(q.slice(0, 32)).then(
        (users) => {
          if (!current) return;
          setResults(users);
          setState('done');
          // What was typed points at its best match, so Enter takes it.
          setActive(users.length > 0 ? 0 : -1);
        },
        (err: unknown) => {
          if (!current) return;
          setError(err instanceof Error ? err.message : 'Search failed.');
          setState('error');
        },
      );
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query, search]);

  const typed = query.trim() !== '';
  const seen = new Set<string>();
  const shown = [...pinned, ...(typed ? results : suggestions)].filter((u) => {
    if (seen.has(u.id) || exclude?.has(u.id)) return false;
    seen.add(u.id);
    return true;
  });
  const activeIndex = active < shown.length ? active : shown.length - 1;
  const multi = selected !== undefined;
  const optionId = (i: number) => optionIdOf(listId, i);

  // Keep the active option in view as the arrows move through a scrolled list.
  useEffect(() => {
    if (activeIndex < 0) return;
    const option = listRef.current?.ownerDocument.getElementById(optionIdOf(listId, activeIndex));
    option?.scrollIntoView?.({ block: 'nearest' });
  }, [activeIndex, listId]);

  function choose(user: User) {
    if (busyUserId !== null) return;
    onChoose(user);
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (shown.length === 0) return;
    const last = shown.length - 1;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const down = event.key === 'ArrowDown';
      if (activeIndex < 0) setActive(down ? 0 : last);
      else
        setActive(
          down ? (activeIndex === last ? 0 : activeIndex + 1) : (activeIndex || shown.length) - 1,
        );
      return;
    }
    if (event.key === 'Enter' && !event.nativeEvent.isComposing) {
      const user = shown[activeIndex];
      if (!user) return;
      // Not the form's submit: Enter on an active option chooses it.
      event.preventDefault();
      choose(user);
    }
  }

  const status =
    state === 'searching'
      ? 'Searching…'
      : state === 'error'
        ? error
        : state === 'done' && results.length === 0
          ? 'Nobody found by that name.'
          : !typed && suggestions.length > 0
            ? 'People you have chats with:'
            : null;

  return (
    <div className="user-search">
      <label htmlFor={fieldId}>Search users</label>
      <input
        id={fieldId}
        type="search"
        role="combobox"
        aria-expanded={shown.length > 0}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={activeIndex >= 0 ? optionId(activeIndex) : undefined}
        value={query}
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
        placeholder="Name or username"
        aria-describedby={statusId}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(-1);
        }}
        onKeyDown={onKeyDown}
      />
      <p id={statusId} className="search-status" aria-live="polite">
        {status}
      </p>
      <ul
        ref={listRef}
        id={listId}
        role="listbox"
        className="user-results"
        aria-label="People"
        aria-multiselectable={multi || undefined}
        hidden={shown.length === 0}
      >
        {shown.map((user, i) => {
          const handleId = `${optionId(i)}-handle`;
          const picked = selected?.has(user.id) ?? false;
          return (
            <li
              key={user.id}
              id={optionId(i)}
              role="option"
              className={`user-result${i === activeIndex ? ' active' : ''}`}
              aria-describedby={handleId}
              aria-selected={multi ? picked : i === activeIndex}
              aria-disabled={busyUserId !== null || undefined}
              // The field keeps focus: choose on mouse down, before it would blur.
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => {
                setActive(i);
                choose(user);
              }}
            >
              <Avatar id={user.id} name={user.display_name} size="sm" status={user.status} />
              <span className="user-result-names">
                <span className="user-result-name">{user.display_name}</span>
                {/* Named by its visible text, the display name (the rest is hidden from the name:
                    an aria-labelledby would make axe see text outside the name); the @username
                    is its description. */}
                <span className="user-result-handle" id={handleId} aria-hidden="true">
                  @{user.username}
                </span>
              </span>
              {picked && (
                <span className="check" aria-hidden="true">
                  ✓
                </span>
              )}
              {busyUserId === user.id && <span className="spinner" aria-hidden="true" />}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
