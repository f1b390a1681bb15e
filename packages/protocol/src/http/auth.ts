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

/** `PATCH /api/auth/me`. */
export const UpdateMeRequest = z.object({ displayName: label(1, 64) });
export type UpdateMeRequest = z.infer<typeof UpdateMeRequest>;

/** `POST /api/auth/password`: the current password (as at login), and a new one. */
export const ChangePasswordRequest = z.object({
  currentPassword: text(1, 256),
  newPassword: password(),
});
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequest>;

export const TokenResponse = z.object({ token: z.string() });
export type TokenResponse = z.infer<typeof TokenResponse>;

/** `DELETE /api/auth/me`: the password confirms it is the person, not a borrowed session. */
export const DeleteAccountRequest = z.object({ password: text(1, 256) });
export type DeleteAccountRequest = z.infer<typeof DeleteAccountRequest>;
