import type { User } from '@parley/protocol';
import { useEffect, useId, useState } from 'react';
import { Avatar } from './Avatar.js';

interface UserSearchProps {
  search: (q: string) => Promise<User[]>;
  /** Users to leave out of the results, e.g. a group's members. */
  exclude?: ReadonlySet<string>;
  /** Shown first and kept while the query changes, e.g. those already picked. */
  pinned?: readonly User[];
  /** With `selected`, results are toggle buttons (aria-pressed); without, plain buttons. */
  selected?: ReadonlySet<string>;
  onChoose: (user: User) => void;
  busyUserId?: string | null;
}

const DEBOUNCE_MS = 200;

/** The "Search users" field and its results: one button per user, named by the username. */
export function UserSearch({
  search,
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
  const fieldId = useId();
  const statusId = useId();

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

  const seen = new Set<string>();
  const shown = [...pinned, ...results].filter((u) => {
    if (seen.has(u.id) || exclude?.has(u.id)) return false;
    seen.add(u.id);
    return true;
  });

  return (
    <div className="user-search">
      <label htmlFor={fieldId}>Search users</label>
      <input
        id={fieldId}
        type="search"
        value={query}
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
        placeholder="Username or name"
        aria-describedby={statusId}
        onChange={(e) => setQuery(e.target.value)}
      />
      <p id={statusId} className="search-status" aria-live="polite">
        {state === 'searching' && 'Searching…'}
        {state === 'error' && error}
        {state === 'done' && results.length === 0 && 'Nobody found by that name.'}
      </p>
      {shown.length > 0 && (
        <ul className="user-results" aria-label="People">
          {shown.map((user) => (
            <li key={user.id}>
              <button
                type="button"
                className="user-result"
                aria-label={user.username}
                aria-pressed={selected ? selected.has(user.id) : undefined}
                disabled={busyUserId !== null}
                onClick={() => onChoose(user)}
              >
                <Avatar id={user.id} name={user.display_name} size="sm" status={user.status} />
                <span className="user-result-names">
                  <span className="user-result-name">{user.display_name}</span>
                  <span className="user-result-handle">@{user.username}</span>
                </span>
                {selected?.has(user.id) && (
                  <span className="check" aria-hidden="true">
                    ✓
                  </span>
                )}
                {busyUserId === user.id && <span className="spinner" aria-hidden="true" />}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
