import { describe, expect, it } from 'vitest';
import { formatClock, formatDay, formatFull, formatListTime, presenceText } from './format.js';

/** An ISO time for a local wall-clock time, whatever the machine's time zone. */
const local = (day: number, hour: number, minute: number): string =>
  new Date(2026, 0, day, hour, minute).toISOString();

// Monday 5 January 2026, 18:00 local.
const now = new Date(2026, 0, 5, 18, 0);

describe('times as people read them', () => {
  it('writes the clock as the locale does, without a padded hour', () => {
    expect(formatClock(local(5, 13, 36), 'en-US')).toBe('1:36 PM');
    expect(formatClock(local(5, 9, 5), 'en-US')).toBe('9:05 AM');
    expect(formatClock(local(5, 13, 36), 'de-DE')).toBe('13:36');
    expect(formatClock(local(5, 13, 36), 'en-GB')).toBe('13:36');
    // The person's own locale takes the same form.
    expect(formatClock(local(5, 13, 36))).toBe(
      new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' }).format(
        new Date(2026, 0, 5, 13, 36),
      ),
    );
  });

  it('writes dates in the locale too', () => {
    expect(formatDay(local(5, 9, 0), now, 'en-US')).toBe('Today');
    expect(formatDay(local(4, 9, 0), now, 'en-US')).toBe('Yesterday');
    expect(formatDay(local(1, 9, 0), now, 'en-US')).toBe('Thursday, January 1, 2026');
    expect(formatDay(local(1, 9, 0), now, 'de-DE')).toBe('Donnerstag, 1. Januar 2026');
    expect(formatListTime(local(5, 13, 36), now, 'en-US')).toBe('1:36 PM');
    expect(formatListTime(local(1, 9, 0), now, 'en-US')).toBe('Thu');
    expect(formatListTime(new Date(2025, 11, 20, 9).toISOString(), now, 'en-US')).toBe('Dec 20');
    expect(formatListTime(new Date(2025, 11, 20, 9).toISOString(), now, 'en-GB')).toBe('20 Dec');
    expect(formatFull(local(5, 13, 36), 'en-US')).toBe('Monday, January 5, 2026 at 1:36 PM');
  });

  it('says when someone was last seen, in the same clock', () => {
    const seen = (iso: string) =>
      presenceText({ status: 'offline', last_seen_at: iso }, now, 'en-US');
    expect(seen(local(5, 13, 36))).toBe('last seen today at 1:36 PM');
    expect(seen(local(4, 9, 5))).toBe('last seen yesterday at 9:05 AM');
    expect(presenceText({ status: null, last_seen_at: null }, now)).toBe('');
    expect(presenceText({ status: 'online', last_seen_at: null }, now)).toBe('online');
  });
});
