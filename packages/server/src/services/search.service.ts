import type { SearchPage, SearchQuery } from '@parley/protocol';
import { notFound } from '../errors.js';
import type { MessagesRepository } from '../repositories/messages.repository.js';
import type { SearchChunk, SearchRepository } from '../repositories/search.repository.js';
import { asParticipant, notParticipant, type AccessPolicy } from './access.js';
import type { RateLimiter } from './ports.js';

/** What every matching message must hold. */
export interface SearchTerms {
  /** Each begins a word of the message (any case, accents ignored). */
  prefixes: string[];
  /** Runs of scripts without spaces: each occurs in the message (trigram index). */
  runs: string[];
  /** Each occurs in the message folded the same way (no index: read from the matches' text). */
  literals: string[];
}

/**
 * The terms of a search text, from its whitespace-separated pieces as the database cut them:
 * - a piece's words (letters and digits of scripts written with spaces) each match a word's start;
 * - its runs of scripts written without spaces (Han, Kana, Thai, Lao, Khmer, Myanmar) match as
 *   substrings, since their words cannot be told apart;
 * - a piece that holds `%` or `_`, or no word and no such run at all (`:)`, `🙂`, `$`), must also
 *   occur as it is: the index ignores such characters, and `%` and `_` are never wildcards.
 * A run or literal inside another of its kind is implied by it and dropped.
 */
export function searchTerms(
  chunks: readonly SearchChunk[],
  pieces: readonly string[],
): SearchTerms {
  const prefixes = new Set<string>();
  const runs = new Set<string>();
  const literals = new Set<string>();
  chunks.forEach((chunk, i) => {
    chunk.words.forEach((w) => prefixes.add(w));
    chunk.runs.forEach((r) => runs.add(r));
    const literal =
      /[%_]/.test(pieces[i] ?? '') || (chunk.words.length === 0 && chunk.runs.length === 0);
    if (literal && chunk.folded.length > 0) literals.add(chunk.folded);
  });
  const widest = (set: Set<string>) =>
    [...set].filter((s) => ![...set].some((t) => t !== s && t.includes(s)));
  return { prefixes: [...prefixes], runs: widest(runs), literals: widest(literals) };
}

/** `GET /api/search/messages`: messages of the caller's chats that hold every word of a text. */
export class SearchService {
  constructor(
    private readonly searchRepo: SearchRepository,
    private readonly messagesRepo: MessagesRepository,
    private readonly access: AccessPolicy,
    /** Searches per user per 10 s: a search reads far more than a send writes. */
    private readonly limiter: RateLimiter,
  ) {}

  /**
   * False when the database folds only ASCII case (LC_CTYPE C or POSIX): then "прив" would not
   * find "ПРИВЕТ". PGlite and a database created with a UTF-8 locale (C.UTF-8 too) fold all.
   */
  foldsEveryScript(): Promise<boolean> {
    return this.searchRepo.foldsEveryScript();
  }

  async messages(userId: string, query: SearchQuery): Promise<SearchPage> {
    // The contract's order: every not_found (the chat, the cursor) before any forbidden.
    const [chat, cursor] = await Promise.all([
      query.chatId ? this.access.chat(query.chatId, userId) : undefined,
      query.before ? this.searchRepo.placeOf(query.before, userId) : undefined,
    ]);
    if (query.before && !cursor) throw notFound('message');
    if (chat) asParticipant(chat);
    if (cursor && !cursor.participant) throw notParticipant();
    await this.limiter.consume(userId);

    const pieces = [...new Set(query.q.split(/\s+/u).filter((p) => p.length > 0))];
    const terms = searchTerms(await this.searchRepo.chunks(pieces), pieces);
    // Text that folds to nothing searchable (marks alone, say) matches nothing.
    if (terms.prefixes.length + terms.runs.length + terms.literals.length === 0) {
      return { messages: [], has_more: false };
    }
    const { ids, hasMore } = await this.searchRepo.search({
      userId,
      ...terms,
      chatId: query.chatId,
      before: query.before,
      limit: query.limit,
    });
    // byIds answers in any order: put them back in the search's.
    const byId = new Map((await this.messagesRepo.byIds(ids)).map((m) => [m.id, m]));
    const found = ids.flatMap((id) => byId.get(id) ?? []);
    return { messages: found, has_more: hasMore };
  }
}
