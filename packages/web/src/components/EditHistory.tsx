import { useId, useState, type ReactNode } from 'react';
import { formatFull } from '../format.js';
import { reasonOf, type EditEntry } from './messageActions.js';

type Loaded =
  | { status: 'closed' | 'loading' }
  | { status: 'failed'; error: string }
  | { status: 'open'; edits: EditEntry[] };

interface EditHistoryProps {
  editedAt: string;
  load: (() => Promise<EditEntry[]>) | null;
  /** The message's time, shown after the marker. */
  children: ReactNode;
}

/**
 * A bubble's meta line with the "edited" marker; with a loader, the marker is a disclosure that
 * shows the earlier versions, on demand, across the bubble below it.
 */
export function EditHistory({ editedAt, load, children }: EditHistoryProps) {
  const [shown, setShown] = useState<Loaded>({ status: 'closed' });
  const panelId = useId();
  const title = `Edited ${formatFull(editedAt)}`;

  if (!load) {
    return (
      <span className="meta">
        <span className="edited" title={title}>
          edited
        </span>
        {children}
      </span>
    );
  }

  function toggle(loader: () => Promise<EditEntry[]>) {
    if (shown.status !== 'closed') return setShown({ status: 'closed' });
    setShown({ status: 'loading' });
    loader().then(
      (edits) => setShown({ status: 'open', edits }),
      (err: unknown) => setShown({ status: 'failed', error: reasonOf(err) }),
    );
  }

  const expanded = shown.status !== 'closed';
  return (
    <>
      <span className="meta">
        <button
          type="button"
          className="edited link-button"
          title={title}
          aria-expanded={expanded}
          aria-controls={expanded ? panelId : undefined}
          onClick={() => toggle(load)}
        >
          edited
        </button>
        {children}
      </span>
      {expanded && (
        <div id={panelId} className="edit-history">
          {shown.status === 'loading' && <p>Loading earlier versions…</p>}
          {shown.status === 'failed' && (
            <p className="edit-error" role="alert">
              Could not load the earlier versions. {shown.error}
            </p>
          )}
          {shown.status === 'open' && shown.edits.length === 0 && <p>No earlier versions kept.</p>}
          {shown.status === 'open' && shown.edits.length > 0 && (
            <ol aria-label="Earlier versions">
              {shown.edits.map((e) => (
                <li key={e.edited_at}>
                  <p className="edit-history-text">{e.content}</p>
                  <time dateTime={e.edited_at}>Replaced {formatFull(e.edited_at)}</time>
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </>
  );
}
