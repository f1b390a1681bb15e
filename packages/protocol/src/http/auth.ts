import { z } from 'zod';
import { Me } from '../models/user.js';
import { password, text, username } from '../primitives.js';

export const RegisterRequest = z.object({
  username: username(),
  password: password(),
  email: z.email().max(254).optional(),
  displayName: text(1, 64).optional(),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;

/** Sign in by username or by email. */
export const LoginRequest = z.union([
  z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }),
  z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(256) }),
]);
export type LoginRequest = z.infer<typeof LoginRequest>;

export const AuthResponse = z.object({ token: z.string(), user: Me });
export type AuthResponse = z.infer<typeof AuthResponse>;

export const MeResponse = z.object({ user: Me });
export type MeResponse = z.infer<typeof MeResponse>;
