import type { Migration } from 'kysely';
import * as initial from './2026-11-28T0100_initial.js';
import * as hardening from './2026-12-01T0100_hardening.js';
import * as scaleOut from './2026-12-02T0100_scale_out.js';

/** Every migration, by its timestamped name; Kysely runs them in name order. */
export const migrations: Record<string, Migration> = {
  '2026-11-28T0100_initial': initial,
  '2026-12-01T0100_hardening': hardening,
  '2026-12-02T0100_scale_out': scaleOut,
};
