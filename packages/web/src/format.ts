// Times as people read them, in their own locale.
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The formats of one locale (`undefined`: the person's own, as the browser reports it). Nothing
 * is forced: the hour takes the locale's own form and 12- or 24-hour clock ("1:36 PM" in the US,
 * "13:36" in Germany), never a padded "01:36 PM".
 */
function formatsOf(locale: string | undefined) {
  return {
    clock: new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit' }),
    weekday: new Intl.DateTimeFormat(locale, { weekday: 'short' }),
    shortDate: new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short' }),
    longDate: new Intl.DateTimeFormat(locale, {
      weekday: 'long',
      day: 'numeric',
      month: 'long',
      year: 'numeric',
    }),
    full: new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'short' }),
  };
}

type Formats = ReturnType<typeof formatsOf>;
const byLocale = new Map<string | undefined, Formats>();

/** Built once per locale: an Intl.DateTimeFormat is costly to make, cheap to use. */
function formats(locale?: string): Formats {
  let held = byLocale.get(locale);
  if (!held) byLocale.set(locale, (held = formatsOf(locale)));
  return held;
}

const startOfDay = (d: Date): number =>
  new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();

/** Whole calendar days from `iso` to `now` (0 today, 1 yesterday). */
export const daysAgo = (iso: string, now = new Date()): number =>
  Math.round((startOfDay(now) - startOfDay(new Date(iso))) / (24 * HOUR));

/** The time of day, as the locale writes it. `locale` is for tests; the app uses the person's. */
export const formatClock = (iso: string, locale?: string): string =>
  formats(locale).clock.format(new Date(iso));
export const formatFull = (iso: string, locale?: string): string =>
  formats(locale).full.format(new Date(iso));

/** The day divider above a day's first message. */
export function formatDay(iso: string, now = new Date(), locale?: string): string {
  const days = daysAgo(iso, now);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return formats(locale).longDate.format(new Date(iso));
}

/** The chat list's compact time: the clock today, the weekday this week, else the date. */
export function formatListTime(iso: string, now = new Date(), locale?: string): string {
  const days = daysAgo(iso, now);
  if (days === 0) return formatClock(iso, locale);
  if (days < 7) return formats(locale).weekday.format(new Date(iso));
  return formats(locale).shortDate.format(new Date(iso));
}

/** "online", or "last seen …" for someone offline; "" when their presence is not shown to me. */
export function presenceText(
  user: { status: 'online' | 'offline' | null; last_seen_at: string | null },
  now = new Date(),
  locale?: string,
): string {
  if (user.status === null) return '';
  if (user.status === 'online') return 'online';
  if (!user.last_seen_at) return 'last seen a while ago';
  const iso = user.last_seen_at;
  const ago = now.getTime() - new Date(iso).getTime();
  if (ago < MINUTE) return 'last seen just now';
  if (ago < HOUR) return `last seen ${Math.floor(ago / MINUTE)} min ago`;
  const days = daysAgo(iso, now);
  if (days === 0) return `last seen today at ${formatClock(iso, locale)}`;
  if (days === 1) return `last seen yesterday at ${formatClock(iso, locale)}`;
  return `last seen ${formats(locale).shortDate.format(new Date(iso))}`;
}
