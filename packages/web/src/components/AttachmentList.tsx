import type { Attachment, Message } from '@parley/protocol';
import { formatSize } from '../client/uploads.js';

/** Thumbnails are at most this many pixels a side: the box an inline image is laid out in. */
const THUMB_BOX = 320;

/** An image's shown size, known before it loads, so the list does not jump when it does. */
function shownSize(a: Attachment): { width: number; height: number } | null {
  if (!a.width || !a.height) return null;
  const scale = Math.min(1, THUMB_BOX / Math.max(a.width, a.height));
  return {
    width: Math.max(1, Math.round(a.width * scale)),
    height: Math.max(1, Math.round(a.height * scale)),
  };
}

/**
 * What a chat list row says of a message that carries attachments and no text: "Photo",
 * "3 photos", the file's name, or "3 files".
 */
export function attachmentSummary(message: Pick<Message, 'attachments'>): string {
  const all = message.attachments;
  if (all.length === 0) return '';
  if (all.every((a) => a.kind === 'image')) {
    return all.length === 1 ? 'Photo' : `${all.length} photos`;
  }
  return all.length === 1 ? (all[0]?.name ?? 'File') : `${all.length} files`;
}

/**
 * A message's attachments: images inline from their thumbnails (each a link that opens the
 * original, full size, in a new tab), files as a card with name, size and a download link.
 */
export function AttachmentList({ attachments }: { attachments: readonly Attachment[] }) {
  if (attachments.length === 0) return null;
  return (
    <ul className="attachments" aria-label="Attachments">
      {attachments.map((a) => {
        const size = shownSize(a);
        return a.kind === 'image' && a.thumbnail_url && size ? (
          <li key={a.id} className="attachment-image">
            <a href={a.url} target="_blank" rel="noreferrer noopener" title="Open full size">
              <img
                src={a.thumbnail_url}
                alt={a.name}
                width={size.width}
                height={size.height}
                loading="lazy"
              />
            </a>
          </li>
        ) : (
          <li key={a.id} className="attachment-file">
            <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
              <path
                d="M6 2h8l5 5v15H6z M14 2v5h5"
                fill="none"
                stroke="currentColor"
                strokeWidth="1.6"
              />
            </svg>
            <span className="attachment-file-text">
              <a href={a.url} download={a.name} className="attachment-name">
                {a.name}
              </a>
              <span className="attachment-size">{formatSize(a.size)}</span>
            </span>
          </li>
        );
      })}
    </ul>
  );
}
