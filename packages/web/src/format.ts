// Times as people read them, in their own locale.
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const shortDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const longDate = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
});
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

const startOfDay = (d: Date): number =>
  new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();

/** Whole calendar days from `iso` to `now` (0 today, 1 yesterday). */
export const daysAgo = (iso: string, now = new Date()): number =>
  Math.round((startOfDay(now) - startOfDay(new Date(iso))) / (24 * HOUR));

export const formatClock = (iso: string): string => clock.format(new Date(iso));
export const formatFull = (iso: string): string => full.format(new Date(iso));

/** The day divider above a day's first message. */
export function formatDay(iso: string, now = new Date()): string {
  const days = daysAgo(iso, now);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return longDate.format(new Date(iso));
}

/** The chat list's compact time: the clock today, the weekday this week, else the date. */
export function formatListTime(iso: string, now = new Date()): string {
  const days = daysAgo(iso, now);
  if (days === 0) return formatClock(iso);
  if (days < 7) return weekday.format(new Date(iso));
  return shortDate.format(new Date(iso));
}

/** "online", or "last seen …" for someone offline; "" when their presence is not shown to me. */
export function presenceText(
  user: { status: 'online' | 'offline' | null; last_seen_at: string | null },
  now = new Date(),
): string {
  if (user.status === null) return '';
  if (user.status === 'online') return 'online';
  if (!user.last_seen_at) return 'last seen a while ago';
  const iso = user.last_seen_at;
  const ago = now.getTime() - new Date(iso).getTime();
  if (ago < MINUTE) return 'last seen just now';
  if (ago < HOUR) return `last seen ${Math.floor(ago / MINUTE)} min ago`;
  const days = daysAgo(iso, now);
  if (days === 0) return `last seen today at ${formatClock(iso)}`;
  if (days === 1) return `last seen yesterday at ${formatClock(iso)}`;
  return `last seen ${shortDate.format(new Date(iso))}`;
}
