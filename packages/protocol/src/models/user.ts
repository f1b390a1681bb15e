import { z } from 'zod';
import { id, isoTime } from '../primitives.js';

export const PresenceStatus = z.enum(['online', 'offline']);
export type PresenceStatus = z.infer<typeof PresenceStatus>;

export const User = z.object({
  id: id(),
  username: z.string(),
  display_name: z.string(),
  avatar_url: z.string().nullable(),
  /** `null` (with `last_seen_at`) for a user who shares no chat with the caller. */
  status: PresenceStatus.nullable(),
  last_seen_at: isoTime().nullable(),
  created_at: isoTime(),
});
export type User = z.infer<typeof User>;

/** The user as they see themself: with their email. */
export const Me = User.extend({ email: z.string().nullable() });
export type Me = z.infer<typeof Me>;

/** The sender as embedded in a message. */
export const UserSummary = User.pick({
  id: true,
  username: true,
  display_name: true,
  avatar_url: true,
});
export type UserSummary = z.infer<typeof UserSummary>;
