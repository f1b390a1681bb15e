import { sql, type Kysely } from 'kysely';

/**
 * Characters of the scripts written without spaces between words (Thai, Lao, Myanmar, Khmer,
 * Han, Hiragana, Katakana, halfwidth Katakana), as PostgreSQL regex escapes. Their text cannot be
 * cut into words, so it is searched by substring (trigrams) and kept out of the word index.
 */
const SPACELESS = String.raw`\u0E01-\u0EFF\u1000-\u109F\u1780-\u17FF\u19E0-\u19FF\u2E80-\u2FDF\u3005-\u3007\u3021-\u3029\u3038-\u303B\u3041-\u30FF\u31F0-\u31FF\u3400-\u4DBF\u4E00-\u9FFF\uA9E0-\uA9FF\uAA60-\uAA7F\uF900-\uFAFF\uFF66-\uFF9F\U00020000-\U0003FFFF`;
/**
 * Punctuation that ends a word for search: ASCII's, Latin-1's, general and CJK punctuation, and
 * fullwidth forms. With these turned into spaces before PostgreSQL's parser sees the text, a word
 * is a run of letters and digits: "example" finds user@example.com and "bar" finds foo.bar/bar.
 */
const PUNCTUATION = String.raw`\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E\u00A1\u00A7\u00AB\u00B6\u00B7\u00BB\u00BF\u2000-\u206F\u3000-\u3004\u3008-\u3020\u3030\u303D-\u303F\uFF01-\uFF0F\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65`;

// Frozen in time: migrations use Kysely<any> so later schema changes never break them.
export async function up(db: Kysely<any>): Promise<void> {
  // Both ship with PostgreSQL (trusted extensions: a database owner may create them) and with
  // PGlite (loaded by database.ts). Per database, so each fresh test database gets its own.
  await sql`CREATE EXTENSION IF NOT EXISTS unaccent`.execute(db);
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);

  // Folding for search: accents off, then lower case (Cyrillic, Greek... as well as Latin).
  // unaccent() is only STABLE (its dictionary could change), so an index cannot use it directly;
  // this wrapper declares it IMMUTABLE, which holds as long as the unaccent rules are not edited.
  // A SQL-standard body (RETURN) is parsed now: the dictionary and the functions are bound by
  // identity, whatever search_path a later session (or autovacuum, or a restore) runs with.
  await sql`
    CREATE FUNCTION parley_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(unaccent('unaccent'::regdictionary, $1))`.execute(db);
  // The text whose words are indexed: folded, with the spaceless scripts and punctuation blanked.
  await sql`
    CREATE FUNCTION parley_words(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN regexp_replace(parley_fold($1), ${sql.lit(`[${SPACELESS}${PUNCTUATION}]+`)}, ' ', 'g')`.execute(
    db,
  );
  // The runs of spaceless scripts in a text, folded, separated by single spaces. A run of a
  // search text occurs in a message's folded text exactly when it occurs in this of the message.
  await sql`
    CREATE FUNCTION parley_spaceless(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN btrim(regexp_replace(parley_fold($1), ${sql.lit(`[^${SPACELESS}]+`)}, ' ', 'g'))`.execute(
    db,
  );

  // Word prefixes: 'word':* queries over the 'simple' configuration (no stemming, no stop words:
  // no language is favoured).
  await sql`
    CREATE INDEX messages_search_words_idx ON messages
    USING gin (to_tsvector('simple'::regconfig, parley_words(content)))`.execute(db);
  // Substrings of spaceless scripts: LIKE on trigrams of those runs alone. A message of other
  // scripts adds no trigram (its entry costs a quarter of one over the whole folded text), and
  // the rest has no use for them: words have their index, and what pg_trgm could take from a
  // piece such as "100%" is a word already.
  await sql`
    CREATE INDEX messages_search_trgm_idx ON messages
    USING gin (parley_spaceless(content) gin_trgm_ops)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX messages_search_trgm_idx`.execute(db);
  await sql`DROP INDEX messages_search_words_idx`.execute(db);
  await sql`DROP FUNCTION parley_spaceless(text)`.execute(db);
  await sql`DROP FUNCTION parley_words(text)`.execute(db);
  await sql`DROP FUNCTION parley_fold(text)`.execute(db);
}
