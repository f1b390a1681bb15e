import { useEffect, useId, useRef, useState, type KeyboardEvent, type RefObject } from 'react';

export interface MenuItem {
  label: string;
  onSelect: () => void;
  danger?: boolean;
}

interface MessageMenuProps {
  items: readonly MenuItem[];
  /** The trigger, so that whoever acts on an item can put focus back on it afterwards. */
  buttonRef: RefObject<HTMLButtonElement | null>;
  /** The button's and the menu's name (the chat list's rows name theirs by the chat). */
  label?: string;
}

const MENU_ROOM_PX = 200;

/**
 * "Message actions": a menu button (ARIA menu pattern). Arrow keys, Home and End move between
 * items, Escape closes and returns focus to the button, Tab closes and moves on.
 */
export function MessageMenu({ items, buttonRef, label = 'Message actions' }: MessageMenuProps) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [upward, setUpward] = useState(false);
  const menuId = useId();
  const menuRef = useRef<HTMLDivElement>(null);
  const itemRefs = useRef<(HTMLButtonElement | null)[]>([]);

  useEffect(() => {
    if (open) itemRefs.current[active]?.focus();
  }, [open, active]);

  // A click anywhere else closes it, as any menu does.
  useEffect(() => {
    if (!open) return;
    const onDown = (event: MouseEvent) => {
      const target = event.target as Node;
      if (!menuRef.current?.contains(target) && !buttonRef.current?.contains(target)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open, buttonRef]);

  function show(first: number) {
    // Near the bottom of the window (the newest messages), open upwards to stay in view.
    const rect = buttonRef.current?.getBoundingClientRect();
    setUpward(rect !== undefined && rect.bottom > window.innerHeight - MENU_ROOM_PX);
    setActive(first);
    setOpen(true);
  }

  function close(returnFocus: boolean) {
    setOpen(false);
    if (returnFocus) buttonRef.current?.focus();
  }

  function onButtonKeyDown(event: KeyboardEvent<HTMLButtonElement>) {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      show(event.key === 'ArrowDown' ? 0 : items.length - 1);
    }
  }

  function onMenuKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const last = items.length - 1;
    const moves: Record<string, number> = {
      ArrowDown: active === last ? 0 : active + 1,
      ArrowUp: active === 0 ? last : active - 1,
      Home: 0,
      End: last,
    };
    const next = moves[event.key];
    if (next !== undefined) {
      event.preventDefault();
      setActive(next);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    } else if (event.key === 'Tab') {
      close(false);
    }
  }

  function select(item: MenuItem) {
    // Focus goes back to the button first; the item may then move it (to an edit box, a dialog).
    close(true);
    item.onSelect();
  }

  return (
    <div className="message-menu">
      <button
        ref={buttonRef}
        type="button"
        className="icon-button actions-button"
        aria-label={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => (open ? close(false) : show(0))}
        onKeyDown={onButtonKeyDown}
      >
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
          <circle cx="5" cy="12" r="1.8" fill="currentColor" />
          <circle cx="12" cy="12" r="1.8" fill="currentColor" />
          <circle cx="19" cy="12" r="1.8" fill="currentColor" />
        </svg>
      </button>
      {open && (
        <div
          ref={menuRef}
          id={menuId}
          role="menu"
          aria-label={label}
          className={`menu${upward ? ' upward' : ''}`}
          onKeyDown={onMenuKeyDown}
        >
          {items.map((item, i) => (
            <button
              key={item.label}
              ref={(el) => {
                itemRefs.current[i] = el;
              }}
              type="button"
              role="menuitem"
              tabIndex={i === active ? 0 : -1}
              className={`menu-item${item.danger ? ' danger-text' : ''}`}
              onClick={() => select(item)}
              onMouseEnter={() => setActive(i)}
            >
              {item.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
