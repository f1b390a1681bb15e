import { z } from 'zod';
import { Me } from '../models/user.js';
import { codePointLength, label, password, text, username } from '../primitives.js';

export const RegisterRequest = z.object({
  username: username(),
  password: password(),
  email: z
    .email()
    .refine((s) => codePointLength(s) <= 254, { message: 'must be at most 254 characters' })
    .optional(),
  displayName: label(1, 64).optional(),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;

/** Sign in by username or by email. */
export const LoginRequest = z.union([
  z.object({ username: text(1, 64), password: text(1, 256) }),
  z.object({ email: text(1, 254), password: text(1, 256) }),
]);
export type LoginRequest = z.infer<typeof LoginRequest>;

export const AuthResponse = z.object({ token: z.string(), user: Me });
export type AuthResponse = z.infer<typeof AuthResponse>;

export const MeResponse = z.object({ user: Me });
export type MeResponse = z.infer<typeof MeResponse>;
