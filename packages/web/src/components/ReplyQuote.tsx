import type { ReplyPreview } from '@parley/protocol';
import { useId } from 'react';

/** What a quote shows of the answered message: its first line, or that it is gone. */
export const previewLine = (preview: Pick<ReplyPreview, 'content' | 'deleted'>): string =>
  preview.deleted ? 'Message deleted' : (preview.content.split('\n', 1)[0] ?? '');

interface ReplyQuoteProps {
  preview: ReplyPreview;
  senderName: string;
  onShow: () => void;
}

/**
 * The answered message above a reply. A button named "Reply to <name>"; the quoted line is its
 * description, read after the name. Clicking it shows the answered message in the list.
 */
export function ReplyQuote({ preview, senderName, onShow }: ReplyQuoteProps) {
  const lineId = useId();
  return (
    <button
      type="button"
      className="reply-quote"
      aria-label={`Reply to ${senderName}`}
      aria-describedby={lineId}
      onClick={onShow}
    >
      <span className="reply-quote-name">{senderName}</span>
      <span id={lineId} className={`reply-quote-line${preview.deleted ? ' deleted' : ''}`}>
        {previewLine(preview)}
      </span>
    </button>
  );
}
