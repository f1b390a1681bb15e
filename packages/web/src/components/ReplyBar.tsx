interface ReplyBarProps {
  name: string;
  line: string;
  onCancel: () => void;
}

/** Above the composer while answering a message: whom, what, and × to stop. */
export function ReplyBar({ name, line, onCancel }: ReplyBarProps) {
  return (
    <div className="reply-bar">
      <div className="reply-bar-text">
        <span className="reply-bar-name">Replying to {name}</span>
        <span className="reply-bar-line">{line}</span>
      </div>
      <button type="button" className="icon-button" aria-label="Cancel reply" onClick={onCancel}>
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
          <path
            d="M6 6l12 12M18 6L6 18"
            stroke="currentColor"
            strokeWidth="2"
            strokeLinecap="round"
          />
        </svg>
      </button>
    </div>
  );
}
