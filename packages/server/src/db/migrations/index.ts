import type { Migration } from 'kysely';
import * as initial from './2026-11-28T0100_initial.js';
import * as hardening from './2026-12-01T0100_hardening.js';
import * as scaleOut from './2026-12-02T0100_scale_out.js';
import * as messageChanges from './2026-12-03T0100_message_changes.js';
import * as reactions from './2026-12-04T0100_reactions_replies_mentions.js';
import * as search from './2026-12-04T0200_search.js';
import * as attachments from './2026-12-05T0100_attachments.js';
import * as searchWithoutPendingList from './2026-12-06T0100_search_without_pending_list.js';
import * as searchPendingListOnPostgres from './2026-12-07T0100_search_pending_list_on_postgres.js';

/** Every migration, by its timestamped name; Kysely runs them in name order. */
export const migrations: Record<string, Migration> = {
  '2026-11-28T0100_initial': initial,
  '2026-12-01T0100_hardening': hardening,
  '2026-12-02T0100_scale_out': scaleOut,
  '2026-12-03T0100_message_changes': messageChanges,
  '2026-12-04T0100_reactions_replies_mentions': reactions,
  '2026-12-04T0200_search': search,
  '2026-12-05T0100_attachments': attachments,
  '2026-12-06T0100_search_without_pending_list': searchWithoutPendingList,
  '2026-12-07T0100_search_pending_list_on_postgres': searchPendingListOnPostgres,
};
