import { CloseButton } from './CloseButton.js';
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
      <CloseButton label="Cancel reply" onClick={onCancel} size={18} />
    </div>
  );
}
