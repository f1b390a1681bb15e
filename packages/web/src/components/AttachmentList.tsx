import type { Attachment, Message } from '@parley/protocol';
import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import { errorText } from '../client/errors.js';
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

/** Fetches an attachment's URL with the session's Authorization header (ChatClient). */
export type FetchAttachment = (url: string) => Promise<Blob>;

/**
 * How long before its `exp` a signed URL is treated as run out: a click takes a moment to reach
 * the server, and this machine's clock may be a little off the server's.
 */
const EXPIRY_MARGIN_MS = 5 * 60_000;

/** A blob handed over by a click (a download, a tab) is no longer needed after this. */
const CLICKED_BLOB_MS = 60_000;

/** Whether a signed URL's `exp` has passed, or soon will: then it works only with the header. */
function signatureRunOut(url: string): boolean {
  const exp = Number(new URL(url, window.location.href).searchParams.get('exp'));
  return !(exp > 0) || exp * 1000 <= Date.now() + EXPIRY_MARGIN_MS;
}

/**
 * Object URLs made for this component, revoked when it goes: an `<img>`'s for as long as it
 * shows, a click's after a minute (by then the download or the tab has its bytes).
 */
function useObjectUrls() {
  const live = useRef(new Set<string>());
  const mounted = useRef(false);
  useEffect(() => {
    const urls = live.current;
    mounted.current = true;
    return () => {
      mounted.current = false;
      for (const url of urls) URL.revokeObjectURL(url);
      urls.clear();
    };
  }, []);
  return useMemo(() => {
    const drop = (url: string) => {
      if (live.current.delete(url)) URL.revokeObjectURL(url);
    };
    return {
      /** A blob's URL; null when the component went meanwhile (nothing would revoke it). */
      make(blob: Blob): string | null {
        if (!mounted.current) return null;
        const url = URL.createObjectURL(blob);
        live.current.add(url);
        return url;
      },
      drop,
      dropLater: (url: string) => setTimeout(() => drop(url), CLICKED_BLOB_MS),
    };
  }, []);
}

/**
 * An image's `src` that, once it fails to load (its signature ran out while the tab stayed
 * open), becomes its bytes fetched with the header. Once per URL: fresh URLs (a reread message)
 * start over, and a refusal with the header too leaves the image broken, its name showing.
 */
function useImageSrc(url: string, fetchAttachment: FetchAttachment | undefined) {
  const urls = useObjectUrls();
  const [fallback, setFallback] = useState<{ for: string; src: string | null } | null>(null);
  const current = fallback?.for === url ? fallback : null;
  const shown = current?.src ?? null;
  useEffect(() => (shown ? () => urls.drop(shown) : undefined), [urls, shown]);
  const onError = () => {
    if (!fetchAttachment || current) return;
    setFallback({ for: url, src: null });
    fetchAttachment(url).then(
      (blob) => {
        const src = urls.make(blob);
        if (src) setFallback((f) => (f?.for === url ? { for: url, src } : f));
      },
      (err: unknown) => console.warn('Attachment not shown', err),
    );
  };
  return { src: shown ?? url, failed: current !== null, onError };
}

/**
 * A click on a link to an attachment whose signed URL no longer works: the bytes are fetched with
 * the header instead, then saved under the file's name or opened in a new tab. While the
 * signature holds, the link does its own work (a download streams to disk, with the browser's
 * progress), so a click then does nothing here.
 */
function useHeaderLink(
  fetchAttachment: FetchAttachment | undefined,
  target: { url: string; name: string; tab: boolean },
  runOut: () => boolean,
) {
  const urls = useObjectUrls();
  const [error, setError] = useState<string | null>(null);
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    setError(null);
    if (!fetchAttachment || !runOut()) return;
    event.preventDefault();
    // Opened now, while the click still counts as the person's: a tab opened once the bytes are
    // here would be a popup, which browsers block.
    const tab = target.tab ? window.open('', '_blank') : null;
    if (tab) tab.opener = null;
    fetchAttachment(target.url).then(
      (blob) => {
        const href = urls.make(blob);
        if (!href) return tab?.close();
        if (tab) {
          tab.location.href = href;
        } else {
          // A file, or an image whose tab the browser blocked: saved under its name.
          const link = document.createElement('a');
          link.href = href;
          link.download = target.name;
          link.click();
        }
        urls.dropLater(href);
      },
      (err: unknown) => {
        tab?.close();
        setError(`Could not ${target.tab ? 'open' : 'download'} ${target.name}: ${errorText(err)}`);
      },
    );
  };
  return { onClick, error };
}

/**
 * A message's attachments: images inline from their thumbnails (each a link that opens the
 * original, full size, in a new tab), files as a card with name, size and a download link.
 * Signed URLs run out after 12 to 24 hours; with `fetchAttachment`, what no longer loads is
 * fetched with the session's header instead.
 */
export function AttachmentList({
  attachments,
  fetchAttachment,
}: {
  attachments: readonly Attachment[];
  fetchAttachment?: FetchAttachment | undefined;
}) {
  if (attachments.length === 0) return null;
  return (
    <ul className="attachments" aria-label="Attachments">
      {attachments.map((a) => {
        const size = shownSize(a);
        return a.kind === 'image' && a.thumbnail_url && size ? (
          <ImageItem
            key={a.id}
            attachment={a}
            thumbnail={a.thumbnail_url}
            size={size}
            fetchAttachment={fetchAttachment}
          />
        ) : (
          <FileItem key={a.id} attachment={a} fetchAttachment={fetchAttachment} />
        );
      })}
    </ul>
  );
}

function ImageItem({
  attachment: a,
  thumbnail,
  size,
  fetchAttachment,
}: {
  attachment: Attachment;
  thumbnail: string;
  size: { width: number; height: number };
  fetchAttachment: FetchAttachment | undefined;
}) {
  const image = useImageSrc(thumbnail, fetchAttachment);
  // A thumbnail refused as signed says the original's signature (the same `exp`) ran out too.
  const open = useHeaderLink(
    fetchAttachment,
    { url: a.url, name: a.name, tab: true },
    () => image.failed || signatureRunOut(a.url),
  );
  return (
    <li className="attachment-image">
      <a
        href={a.url}
        target="_blank"
        rel="noreferrer noopener"
        title="Open full size"
        onClick={open.onClick}
      >
        <img
          src={image.src}
          alt={a.name}
          width={size.width}
          height={size.height}
          loading="lazy"
          onError={image.onError}
        />
      </a>
      {open.error && (
        <p className="attachment-error" role="alert">
          {open.error}
        </p>
      )}
    </li>
  );
}

function FileItem({
  attachment: a,
  fetchAttachment,
}: {
  attachment: Attachment;
  fetchAttachment: FetchAttachment | undefined;
}) {
  const download = useHeaderLink(fetchAttachment, { url: a.url, name: a.name, tab: false }, () =>
    signatureRunOut(a.url),
  );
  return (
    <li className="attachment-file">
      <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
        <path d="M6 2h8l5 5v15H6z M14 2v5h5" fill="none" stroke="currentColor" strokeWidth="1.6" />
      </svg>
      <span className="attachment-file-text">
        <a href={a.url} download={a.name} className="attachment-name" onClick={download.onClick}>
          {a.name}
        </a>
        <span className="attachment-size">{formatSize(a.size)}</span>
        {download.error && (
          <span className="attachment-error" role="alert">
            {download.error}
          </span>
        )}
      </span>
    </li>
  );
}
