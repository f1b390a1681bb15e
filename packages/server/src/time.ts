/** Both drivers give Date for timestamptz; the wire wants ISO 8601 in UTC. */
export const iso = (d: Date | string): string =>
  (typeof d === 'string' ? new Date(d) : d).toISOString();
export const isoOrNull = (d: Date | string | null): string | null => (d === null ? null : iso(d));
