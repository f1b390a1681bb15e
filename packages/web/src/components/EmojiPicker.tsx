import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { COMMON_EMOJI, loadEmoji, searchEmoji, type EmojiEntry } from './emoji.js';

interface EmojiPickerProps {
  onPick: (emoji: string) => void;
  /** Escape (`refocus`: focus goes back where it was), or a click elsewhere (it stays there). */
  onClose: (refocus: boolean) => void;
}

type Full = { status: 'idle' | 'loading' | 'failed' } | { status: 'ready'; entries: EmojiEntry[] };

function EmojiButton({
  entry,
  onPick,
}: { entry: { emoji: string; label: string } } & Pick<EmojiPickerProps, 'onPick'>) {
  return (
    <button
      type="button"
      className="emoji-button"
      title={entry.label}
      onClick={() => onPick(entry.emoji)}
    >
      {entry.emoji}
    </button>
  );
}

/** "React": common emoji at hand, and a search over every emoji (loaded when first searched). */
export function EmojiPicker({ onPick, onClose }: EmojiPickerProps) {
  const [query, setQuery] = useState('');
  const [full, setFull] = useState<Full>({ status: 'idle' });
  const ref = useRef<HTMLDivElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const titleId = useId();

  useEffect(() => searchRef.current?.focus(), []);

  useEffect(() => {
    const onDown = (event: MouseEvent) => {
      if (!ref.current?.contains(event.target as Node)) onClose(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [onClose]);

  function ensureLoaded() {
    if (full.status === 'loading' || full.status === 'ready') return;
    setFull({ status: 'loading' });
    loadEmoji().then(
      (entries) => setFull({ status: 'ready', entries }),
      () => setFull({ status: 'failed' }),
    );
  }

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      onClose(true);
    }
  }

  const searching = query.trim() !== '';
  const results = full.status === 'ready' ? searchEmoji(full.entries, query) : [];
  let status = '';
  if (searching && full.status === 'loading') status = 'Loading emoji…';
  else if (searching && full.status === 'failed') status = 'Emoji could not be loaded. Try again.';
  else if (searching && full.status === 'ready')
    status = results.length === 0 ? 'No emoji found' : `${results.length} found`;

  return (
    <div
      ref={ref}
      className="emoji-picker"
      role="dialog"
      aria-labelledby={titleId}
      onKeyDown={onKeyDown}
    >
      <h3 id={titleId} className="sr-only">
        Add a reaction
      </h3>
      <input
        ref={searchRef}
        type="search"
        aria-label="Search emoji"
        placeholder="Search emoji"
        value={query}
        onFocus={ensureLoaded}
        onChange={(e) => {
          setQuery(e.target.value);
          ensureLoaded();
        }}
      />
      <p className="emoji-status" role="status">
        {status}
      </p>
      {searching ? (
        <div className="emoji-grid" role="group" aria-label="Emoji found">
          {results.map((entry) => (
            <EmojiButton key={entry.label} entry={entry} onPick={onPick} />
          ))}
        </div>
      ) : (
        <div className="emoji-grid" role="group" aria-label="Common emoji">
          {COMMON_EMOJI.map((entry) => (
            <EmojiButton key={entry.label} entry={entry} onPick={onPick} />
          ))}
        </div>
      )}
    </div>
  );
}
