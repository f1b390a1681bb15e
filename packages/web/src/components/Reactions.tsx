import type { Reaction } from '@parley/protocol';

interface ReactionsProps {
  reactions: readonly Reaction[];
  meId: string;
  /** Display names by user id, for the chip's tooltip. */
  nameOf: (userId: string) => string;
  onToggle: (emoji: string, mine: boolean) => void;
  /** Opens the emoji picker; absent where reacting is not offered. */
  onAdd?: () => void;
}

function who(reaction: Reaction, meId: string, nameOf: (userId: string) => string): string {
  const names = reaction.user_ids.map((id) => (id === meId ? 'You' : nameOf(id)));
  return names.length > 0 ? names.join(', ') : `${reaction.count}`;
}

/** The chips under a message: "👍 2", pressed when one of them is mine; a click toggles mine. */
export function Reactions({ reactions, meId, nameOf, onToggle, onAdd }: ReactionsProps) {
  if (reactions.length === 0) return null;
  return (
    <div className="reactions">
      {reactions.map((r) => {
        const mine = r.user_ids.includes(meId);
        return (
          <button
            key={r.emoji}
            type="button"
            className="chip"
            aria-pressed={mine}
            title={who(r, meId, nameOf)}
            onClick={() => onToggle(r.emoji, mine)}
          >
            {`${r.emoji} ${r.count}`}
          </button>
        );
      })}
      {onAdd && (
        <button type="button" className="chip add-chip" aria-label="Add reaction" onClick={onAdd}>
          <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
            <path d="M12 6v12M6 12h12" stroke="currentColor" strokeWidth="2" />
          </svg>
        </button>
      )}
    </div>
  );
}
