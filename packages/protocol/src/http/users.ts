import { z } from 'zod';
import { User } from '../models/user.js';
import { id, text } from '../primitives.js';

export const UserSearchQuery = z.object({ q: text(1, 32) });
export type UserSearchQuery = z.infer<typeof UserSearchQuery>;

export const UserSearchResponse = z.object({ users: z.array(User) });
export type UserSearchResponse = z.infer<typeof UserSearchResponse>;

export const UserParams = z.object({ userId: id() });

/** `GET /api/users/blocked`: the users the caller blocked, most recently blocked first. */
export const BlockedUsersResponse = z.object({ users: z.array(User) });
export type BlockedUsersResponse = z.infer<typeof BlockedUsersResponse>;
