import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../db/schema.js';

/** What the database makes of one whitespace-separated piece of a search text. */
export interface SearchChunk {
  /** The piece folded (accents off, lower case), as the substring index holds text. */
  folded: string;
  /** Its words as the word index cuts and folds them. */
  words: string[];
  /** Its runs of scripts written without spaces (Han, Kana, Thai...), folded. */
  runs: string[];
}

export interface SearchFilter {
  userId: string;
  /** Each must begin a word of the message. */
  prefixes: readonly string[];
  /**
   * Runs of scripts without spaces: each must occur in the message's runs (`parley_spaceless`,
   * trigram index). They hold nothing folding changes (no case, no accents), so they must occur
   * in the text as stored too: checked first, that test costs a tenth of folding a message, and
   * it is what a search of one or two Han or Kana characters (no trigram to look up) runs on
   * every message of the caller's chats.
   */
  runs: readonly string[];
  /** Each must occur in the folded message (no index: checked on the other terms' matches). */
  literals: readonly string[];
  chatId?: string | undefined;
  /** A message id: only messages older than it (by created_at, then id). */
  before?: string | undefined;
  limit: number;
}

/**
 * Message search over the indexes of migration 2026-12-04T0200_search: a GIN index of the words of
 * `parley_words(content)` for word prefixes, a trigram GIN index of `parley_spaceless(content)`
 * for substrings of scripts without spaces. The expressions below must stay exactly those of the indexes, or neither is used.
 */
export class SearchRepository {
  constructor(
    private readonly db: Kysely<DB>,
    /**
     * Whether the planner has statistics (PostgreSQL's autovacuum gathers them; PGlite runs none).
     * Without them it guesses that a chat's messages are few and reads them all, recomputing each
     * one's words; see `search`.
     */
    private readonly options: { statistics: boolean },
  ) {}

  /**
   * Cuts the pieces of a search text with the very functions that built the indexes, so that a
   * query's words are the words the index holds (the same parser, folding and script rules).
   */
  async chunks(pieces: readonly string[]): Promise<SearchChunk[]> {
    if (pieces.length === 0) return [];
    // One JSON parameter: arrays travel the same way on pg and PGlite.
    const { rows } = await sql<SearchChunk & { ord: string }>`
      SELECT c.ord,
        parley_fold(c.piece) AS folded,
        ARRAY(SELECT w.lexeme FROM unnest(to_tsvector('simple'::regconfig, parley_words(c.piece))) w) AS words,
        ARRAY(SELECT r FROM regexp_split_to_table(parley_spaceless(c.piece), ' ') r WHERE r <> '') AS runs
      FROM json_array_elements_text(${JSON.stringify(pieces)}::json) WITH ORDINALITY AS c(piece, ord)
      ORDER BY c.ord`.execute(this.db);
    return rows.map(({ folded, words, runs }) => ({ folded, words, runs }));
  }

  /** Whether the database lower-cases beyond ASCII, as search's folding needs. */
  async foldsEveryScript(): Promise<boolean> {
    const { rows } = await sql<{ ok: boolean }>`SELECT parley_fold('ÉЖΣ') = 'eжσ' AS ok`.execute(
      this.db,
    );
    return rows[0]?.ok === true;
  }

  /** The chat of a message and whether the user is in it now; undefined: no such message. */
  async placeOf(
    messageId: string,
    userId: string,
  ): Promise<{ chatId: string; participant: boolean } | undefined> {
    const row = await this.db
      .selectFrom('messages as m')
      .leftJoin('chat_participants as p', (j) =>
        j.onRef('p.chat_id', '=', 'm.chat_id').on('p.user_id', '=', userId),
      )
      .select(['m.chat_id', 'p.user_id'])
      .where('m.id', '=', messageId)
      .executeTakeFirst();
    return row && { chatId: row.chat_id, participant: row.user_id !== null };
  }

  /**
   * Ids of the matching messages, newest first (created_at, then id: a total order, so a page
   * that starts after a message misses none and repeats none). One row more than asked tells
   * whether there is more. Every value is a bound parameter: the search text is never SQL.
   */
  async search(filter: SearchFilter): Promise<{ ids: string[]; hasMore: boolean }> {
    // What the text asks for, and the page: answered from the two search indexes.
    const text: RawBuilder<unknown>[] = [
      // A tombstone's content is '' and so never matches; this says so to the planner too.
      sql`m.deleted_at IS NULL`,
    ];
    if (filter.prefixes.length > 0) {
      text.push(
        sql`to_tsvector('simple'::regconfig, parley_words(m.content)) @@ ${prefixQuery(filter.prefixes)}::tsquery`,
      );
    }
    for (const s of filter.runs) {
      text.push(sql`m.content LIKE ${likeContaining(s)} ESCAPE '\\'`);
      text.push(sql`parley_spaceless(m.content) LIKE ${likeContaining(s)} ESCAPE '\\'`);
    }
    for (const s of filter.literals) {
      text.push(sql`parley_fold(m.content) LIKE ${likeContaining(s)} ESCAPE '\\'`);
    }
    if (filter.before) {
      text.push(
        sql`(m.created_at, m.id) < (SELECT b.created_at, b.id FROM messages b WHERE b.id = ${filter.before})`,
      );
    }
    // Where the caller may look: their chats as one array, read once (a semi-join, planned
    // without statistics, became a lookup per match: 4x slower on a common word on PGlite).
    const chats: RawBuilder<unknown>[] = [
      sql`m.chat_id = ANY(ARRAY(SELECT p.chat_id FROM chat_participants p WHERE p.user_id = ${filter.userId}))`,
    ];
    if (filter.chatId) chats.push(sql`m.chat_id = ${filter.chatId}`);
    const limit = filter.limit + 1;

    // With statistics the planner weighs the indexes itself: a few small chats among many are
    // best read by chat. Without them (PGlite, one deployment's own messages) the text's matches
    // are taken from the search indexes first, then kept to the caller's chats: OFFSET 0 keeps
    // the planner from reading a chat by its index and folding every message of it (8x slower
    // for a common word in one chat of 9,000 messages).
    const { rows } = this.options.statistics
      ? await sql<{ id: string }>`
          SELECT m.id FROM messages m
          WHERE ${sql.join([...chats, ...text], sql` AND `)}
          ORDER BY m.created_at DESC, m.id DESC
          LIMIT ${limit}`.execute(this.db)
      : await sql<{ id: string }>`
          SELECT m.id FROM (
            SELECT m.id, m.chat_id, m.created_at FROM messages m
            WHERE ${sql.join(text, sql` AND `)}
            OFFSET 0
          ) m
          WHERE ${sql.join(chats, sql` AND `)}
          ORDER BY m.created_at DESC, m.id DESC
          LIMIT ${limit}`.execute(this.db);
    return {
      ids: rows.slice(0, filter.limit).map((r) => r.id),
      hasMore: rows.length > filter.limit,
    };
  }
}

/**
 * `'w1':* & 'w2':*` as tsquery input: every word, each as a prefix. Inside quotes a tsquery
 * lexeme takes `''` for a quote and `\` escapes the next character; nothing else is special.
 */
export function prefixQuery(words: readonly string[]): string {
  return words.map((w) => `'${w.replace(/\\/g, '\\\\').replace(/'/g, "''")}':*`).join(' & ');
}

/** A LIKE pattern (escape character `\`) for text holding `s`: `%` and `_` match themselves. */
export function likeContaining(s: string): string {
  return `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
