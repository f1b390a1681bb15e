import type { Participant } from '@parley/protocol';
import { useId, useState, type KeyboardEvent } from 'react';

/** The `@name` being typed just before the caret, by the contract's rule for where one starts. */
const TYPING_MENTION = /(?<![\p{L}\p{N}_])@([A-Za-z0-9_.-]*)$/u;
const MAX_SUGGESTIONS = 8;

export interface MentionQuery {
  /** Index of the `@`. */
  start: number;
  text: string;
}

export function mentionAt(value: string, caret: number): MentionQuery | null {
  const match = TYPING_MENTION.exec(value.slice(0, caret));
  return match ? { start: match.index, text: match[1] ?? '' } : null;
}

/** Members whose username, display name, or a word of it starts with what was typed. */
export function suggest(people: readonly Participant[], text: string): Participant[] {
  const q = text.toLowerCase();
  return people
    .filter(
      (p) =>
        p.username.toLowerCase().startsWith(q) ||
        p.display_name
          .toLowerCase()
          .split(/\s+/)
          .some((w) => w.startsWith(q)),
    )
    .sort((a, b) => a.display_name.localeCompare(b.display_name))
    .slice(0, MAX_SUGGESTIONS);
}

/**
 * Mention autocomplete for a text field: the field keeps focus and points at the active option
 * (aria-activedescendant); arrows move, Enter or Tab pick, Escape closes.
 */
export function useMentionSuggest(people: readonly Participant[]) {
  const listId = useId();
  const [query, setQuery] = useState<MentionQuery | null>(null);
  const [active, setActive] = useState(0);
  const options = query ? suggest(people, query.text) : [];
  const open = options.length > 0;
  const optionId = (i: number) => `${listId}-${i}`;

  /** After every change or caret move: is a mention being typed? */
  function update(value: string, caret: number) {
    const next = mentionAt(value, caret);
    if (next?.start !== query?.start || next?.text !== query?.text) setActive(0);
    setQuery(next);
  }

  /** Returns the person picked by this key, if any; handles the keys it owns. */
  function onKeyDown(event: KeyboardEvent): Participant | 'handled' | null {
    if (!open) return null;
    const last = options.length - 1;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const down = event.key === 'ArrowDown';
      setActive(down ? (active === last ? 0 : active + 1) : active === 0 ? last : active - 1);
      return 'handled';
    }
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      setQuery(null);
      return 'handled';
    }
    if ((event.key === 'Enter' && !event.shiftKey) || event.key === 'Tab') {
      event.preventDefault();
      return options[Math.min(active, last)] ?? null;
    }
    return null;
  }

  const fieldProps = {
    'aria-autocomplete': 'list' as const,
    'aria-controls': open ? listId : undefined,
    'aria-activedescendant': open ? optionId(Math.min(active, options.length - 1)) : undefined,
  };

  return {
    query,
    options,
    open,
    active,
    listId,
    optionId,
    update,
    onKeyDown,
    close: () => setQuery(null),
    fieldProps,
  };
}

interface MentionListProps {
  id: string;
  options: readonly Participant[];
  active: number;
  optionId: (i: number) => string;
  onPick: (person: Participant) => void;
}

export function MentionList({ id, options, active, optionId, onPick }: MentionListProps) {
  return (
    <ul id={id} role="listbox" aria-label="People to mention" className="mention-list">
      {options.map((p, i) => (
        <li
          key={p.id}
          id={optionId(i)}
          role="option"
          aria-selected={i === active}
          className="mention-option"
          // The field keeps focus: pick on mouse down, before it would blur.
          onMouseDown={(e) => {
            e.preventDefault();
            onPick(p);
          }}
        >
          <span className="mention-name">{p.display_name}</span>{' '}
          <span className="mention-handle">@{p.username}</span>
        </li>
      ))}
    </ul>
  );
}
