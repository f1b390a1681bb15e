import { useEffect, useState, type RefObject } from 'react';

const HIGHLIGHT_MS = 2_000;

/**
 * Scrolls to the message asked for (state.focus), moves keyboard focus to it and highlights it
 * for a moment, then tells the client it is done. Returns the id highlighted now, if any.
 */
export function useFocusedMessage(
  list: RefObject<HTMLOListElement | null>,
  focus: { messageId: string; nonce: number } | null | undefined,
  held: number,
  clearFocus: (() => void) | undefined,
) {
  const [highlight, setHighlight] = useState<string | null>(null);

  useEffect(() => {
    if (!focus || !list.current) return;
    const item = [...list.current.children].find(
      (el): el is HTMLElement =>
        el instanceof HTMLElement && el.dataset.messageId === focus.messageId,
    );
    // Not held yet: the client loads it, and this runs again once it is in the list.
    if (!item) return;
    item.scrollIntoView?.({ block: 'center' });
    item.focus({ preventScroll: true });
    setHighlight(focus.messageId);
    clearFocus?.();
  }, [list, focus?.messageId, focus?.nonce, held, clearFocus]);

  useEffect(() => {
    if (!highlight) return;
    const timer = setTimeout(() => setHighlight(null), HIGHLIGHT_MS);
    return () => clearTimeout(timer);
  }, [highlight]);

  return highlight;
}
