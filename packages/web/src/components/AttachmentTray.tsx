import type { PendingUpload } from '../client/uploads.js';
import { formatSize } from '../client/uploads.js';

interface AttachmentTrayProps {
  uploads: readonly PendingUpload[];
  /** MAX_UPLOAD_BYTES in words, when known. */
  limitText: string | null;
  limitId: string;
  onRemove: (key: string) => void;
}

const percent = (u: PendingUpload) =>
  u.size === 0 ? 100 : Math.floor((u.received / u.size) * 100);

/**
 * The files chosen for the next message, above the composer's field: each with its name, size,
 * a progress bar while it uploads, and Cancel (or Remove once uploaded or refused).
 */
export function AttachmentTray({ uploads, limitText, limitId, onRemove }: AttachmentTrayProps) {
  return (
    <div className="attachment-tray">
      {uploads.length > 0 && (
        <ul aria-label="Files to send">
          {uploads.map((u) => (
            <li key={u.key} className={`pending-upload ${u.status}`}>
              <span className="pending-upload-name">{u.name}</span>
              <span className="attachment-size">{formatSize(u.size)}</span>
              {(u.status === 'uploading' || u.status === 'paused') && (
                <>
                  <div
                    role="progressbar"
                    aria-label={`Uploading ${u.name}`}
                    aria-valuemin={0}
                    aria-valuemax={100}
                    aria-valuenow={percent(u)}
                    aria-valuetext={`${formatSize(u.received)} of ${formatSize(u.size)}`}
                    className="upload-progress"
                  >
                    <div className="upload-progress-bar" style={{ width: `${percent(u)}%` }} />
                  </div>
                  {u.status === 'paused' && (
                    <span className="pending-upload-note">Waiting for the connection…</span>
                  )}
                </>
              )}
              {u.status === 'done' && <span className="pending-upload-note">Uploaded</span>}
              {u.error && (
                <span className="pending-upload-error" role="alert">
                  {u.error}
                </span>
              )}
              <button
                type="button"
                className="link-button"
                aria-label={`${u.status === 'uploading' || u.status === 'paused' ? 'Cancel' : 'Remove'} ${u.name}`}
                onClick={() => onRemove(u.key)}
              >
                {u.status === 'uploading' || u.status === 'paused' ? 'Cancel' : 'Remove'}
              </button>
            </li>
          ))}
        </ul>
      )}
      {/* Always there as the Attach button's description; seen once files are chosen. */}
      {limitText && (
        <p id={limitId} className={uploads.length > 0 ? 'attachment-limit' : 'sr-only'}>
          {limitText}
        </p>
      )}
    </div>
  );
}
