import type { CSSProperties } from 'react';

interface AvatarProps {
  id: string;
  name: string;
  size?: 'sm' | 'md' | 'lg';
  /** online / offline dot; omitted for groups, for oneself, and where presence is hidden (null). */
  status?: 'online' | 'offline' | null | undefined;
}

function hue(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) % 360;
  return h;
}

function initials(name: string): string {
  const words = name
    .trim()
    .split(/[\s._-]+/u)
    .filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[1]] : [name.trim()];
  return letters
    .map((w) => [...(w ?? '')].slice(0, words.length > 1 ? 1 : 2).join(''))
    .join('')
    .toUpperCase();
}

/** Decorative: the name is always written next to it, so screen readers skip it. */
export function Avatar({ id, name, size = 'md', status }: AvatarProps) {
  return (
    <span
      className={`avatar avatar-${size}`}
      style={{ '--hue': hue(id) } as CSSProperties}
      aria-hidden="true"
    >
      {initials(name)}
      {status && <span className={`presence-dot ${status}`} />}
    </span>
  );
}
