// Message search over 100,000 messages, on the embedded store and on PostgreSQL.
//
// Per store: the real server (its own process) makes the users and chats; it stops, and the
// messages go in by direct SQL inserts, in batches (fast, and what it costs to keep the two
// search indexes up to date shows as rows per second); the server starts again (time to listen
// with that data), and search requests are timed over HTTP, by kind: a common word prefix, a
// rare word, two words, Cyrillic, a Japanese substring of 3 and of 2 characters, one chat, a
// second page. Each kind's plan is printed with EXPLAIN (ANALYZE, BUFFERS) (--explain).
// Last, PGlite alone: start time and RSS with and without the pg_trgm and unaccent extensions.
//
// Usage: npm run bench:search [-- --store pglite|postgres|both --messages 100000 --rounds 8
//          --explain]
// DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/test (a fresh database is made
// there and dropped after).
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CompiledQuery, sql, type Kysely, type CompiledQuery as Compiled } from 'kysely';
import type { Chat, SearchPage } from '@parley/protocol';
import { openDatabase, type DB } from '../packages/server/src/db/database.js';
import { SearchRepository } from '../packages/server/src/repositories/search.repository.js';
import { searchTerms } from '../packages/server/src/services/search.service.js';
import {
  api,
  createDirect,
  createGroup,
  registerUser,
  type TestUser,
} from '../packages/server/test/helpers/client.js';
import {
  killChildren,
  removeTempDirs,
  startChild,
  tempDir,
} from '../packages/server/test/helpers/process.js';
import { freshDatabase } from '../packages/server/test/helpers/server.js';
import { percentile } from './harness.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'both' },
    messages: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '8' },
    explain: { type: 'boolean', default: false },
  },
});
const total = Number(values.messages);
const rounds = Number(values.rounds);
process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';

// --- Text to search ---------------------------------------------------------------------------

/** A seeded PRNG (mulberry32): the same messages every run. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(42);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

const COMMON = [
  'the', 'meeting', 'today', 'tomorrow', 'hello', 'thanks', 'please', 'review', 'deploy',
  'lunch', 'coffee', 'release', 'ticket', 'update', 'budget', 'design', 'client', 'weekend',
  'café', 'résumé', 'naïve', 'crème', 'brûlée', 'déjà', 'über', 'straße', 'señor', 'piñata',
]; // prettier-ignore
const SYLLABLES = ['ka', 'lo', 'mi', 'ter', 'zan', 'qu', 'vo', 'rel', 'pix', 'dor', 'an', 'sul'];
/** Some 5,000 made-up words, most of them rare: a long tail as real chats have. */
const TAIL = Array.from({ length: 5000 }, (_, i) => {
  let w = '';
  for (let n = i + 7; n > 0; n = Math.floor(n / SYLLABLES.length)) {
    w += SYLLABLES[n % SYLLABLES.length];
  }
  return w;
});
const RUSSIAN = [
  'привет', 'мир', 'встреча', 'сегодня', 'завтра', 'спасибо', 'пожалуйста', 'проект',
  'отчёт', 'Москва', 'ёлка', 'работа', 'вопрос', 'ответ', 'новости', 'погода',
]; // prettier-ignore
const JAPANESE = [
  '東京', 'タワー', 'に', '行きました', '会議', 'は', '明日', 'です', '大阪', 'の',
  '新しい', 'プロジェクト', 'を', '始めます', 'ありがとう', 'ございます', 'ラーメン', '食べた',
]; // prettier-ignore

/** Zipf-like: word k of COMMON about 1/k as often as the first. */
const zipf = (list: readonly string[]) =>
  list[Math.min(list.length - 1, Math.floor(Math.exp(random() * Math.log(list.length + 1)) - 1))]!;

function content(): string {
  const r = random();
  if (r < 0.1)
    return Array.from({ length: 3 + Math.floor(random() * 6) }, () => pick(RUSSIAN)).join(' ');
  if (r < 0.2)
    return Array.from({ length: 4 + Math.floor(random() * 8) }, () => pick(JAPANESE)).join('');
  const words = Array.from({ length: 4 + Math.floor(random() * 14) }, () =>
    random() < 0.6 ? zipf(COMMON) : zipf(TAIL),
  );
  if (random() < 0.3) words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
  return words.join(' ') + (random() < 0.4 ? '.' : '');
}

// --- The store, opened directly ----------------------------------------------------------------

interface Direct {
  db: Kysely<DB>;
  /** The last statement run through `db`: what EXPLAIN shows. */
  last(): Compiled;
  close(): Promise<void>;
}

/** The store as the server opens it (extensions, migrations), noting each statement it runs. */
async function openDirect(databaseUrl: string | undefined, dataDir: string): Promise<Direct> {
  const database = await openDatabase({ url: databaseUrl, dataDir });
  let last: Compiled | undefined;
  const executor = database.db.getExecutor();
  const db = database.db.withPlugin({
    transformQuery: (args) => {
      last = executor.compileQuery(args.node, args.queryId);
      return args.node;
    },
    transformResult: (args) => Promise.resolve(args.result),
  });
  return { db, last: () => last!, close: () => database.close() };
}

/** Inserts `total` messages over the chats, round robin by batch, as sends would number them. */
async function seed(db: Kysely<DB>, chats: { id: string; senders: string[] }[]): Promise<number> {
  const next = new Map(chats.map((c) => [c.id, 0]));
  const start = Date.now() - total * 1000;
  const batch = 1000;
  const t0 = performance.now();
  for (let done = 0; done < total; done += batch) {
    const rows = [];
    for (let i = done; i < Math.min(total, done + batch); i++) {
      const chat = chats[Math.floor(random() * chats.length)]!;
      const seq = next.get(chat.id)! + 1;
      next.set(chat.id, seq);
      rows.push({
        chat_id: chat.id,
        seq,
        sender_id: pick(chat.senders),
        content: content(),
        created_at: new Date(start + i * 1000).toISOString(),
      });
    }
    await sql`
      INSERT INTO messages (chat_id, seq, sender_id, content, message_type, created_at, version)
      SELECT r.chat_id, r.seq, r.sender_id, r.content, 'text', r.created_at, r.seq
      FROM json_to_recordset(${JSON.stringify(rows)}::json)
        AS r(chat_id uuid, seq int, sender_id uuid, content text, created_at timestamptz)`.execute(
      db,
    );
  }
  for (const [id, seq] of next) {
    await sql`UPDATE chats SET last_seq = ${seq}, version = ${seq}, updated_at = now() WHERE id = ${id}`.execute(
      db,
    );
  }
  return performance.now() - t0;
}

// --- The queries ---------------------------------------------------------------------------------

interface Kind {
  name: string;
  /** A query per round (cycled). */
  queries: string[];
  chat?: boolean;
  page2?: boolean;
}

function kinds(rare: string[]): Kind[] {
  return [
    { name: 'common prefix (2-3 letters)', queries: ['me', 'tod', 'he', 'rev', 'th', 'cof'] },
    { name: 'common word', queries: ['meeting', 'deploy', 'thanks', 'budget'] },
    { name: 'accented (folded)', queries: ['creme brul', 'CAFÉ', 'resume', 'strasse'] },
    { name: 'rare word', queries: rare },
    { name: 'two words', queries: ['meeting tomorrow', 'hello rev', 'coffee lunch'] },
    { name: 'Cyrillic prefix', queries: ['прив', 'встреч', 'МОСК', 'елка'] },
    {
      name: 'Japanese substring (3+ chars)',
      queries: ['タワー', '行きました', 'プロジェクト', 'ラーメン'],
    },
    { name: 'Japanese substring (2 chars)', queries: ['東京', '会議', '明日', '大阪'] },
    { name: 'no match', queries: ['zzqxv', 'nothingmatches'] },
    { name: 'one chat (chatId)', queries: ['meeting', 'タワー', 'прив'], chat: true },
    { name: 'second page (before)', queries: ['meeting', 'hello', 'タワー'], page2: true },
  ];
}

async function timeSearches(url: string, user: TestUser, chatId: string, rare: string[]) {
  const get = async (params: Record<string, string>) => {
    const res = await api(url, user.token).get<SearchPage>(
      `/search/messages?${new URLSearchParams(params).toString()}`,
    );
    if (res.status !== 200) throw new Error(`search ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  // Warm: the first requests pay for connections and caches.
  for (const q of ['hello', 'タワー', 'прив', 'x']) await get({ q });
  const results: Record<string, { p50_ms: number; p95_ms: number; n: number; found: number }> = {};
  const all: number[] = [];
  for (const kind of kinds(rare)) {
    const times: number[] = [];
    let found = 0;
    for (let r = 0; r < rounds * 2; r++) {
      const q = kind.queries[r % kind.queries.length]!;
      const params: Record<string, string> = { q };
      if (kind.chat) params.chatId = chatId;
      if (kind.page2) {
        const first = await get({ q });
        const last = first.messages.at(-1);
        if (last) params.before = last.id;
      }
      const t0 = performance.now();
      const page = await get(params);
      times.push(performance.now() - t0);
      found += page.messages.length;
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    results[kind.name] = {
      p50_ms: percentile(times, 50),
      p95_ms: percentile(times, 95),
      n: times.length,
      found: Math.round(found / times.length),
    };
  }
  all.sort((a, b) => a - b);
  return {
    byKind: results,
    all: { p50_ms: percentile(all, 50), p95_ms: percentile(all, 95), n: all.length },
  };
}

/** How many messages each query matches (what the index must hand over before the sort). */
async function matchCounts(
  direct: Direct,
  statistics: boolean,
  userId: string,
  chatId: string,
  rare: string[],
) {
  const repo = new SearchRepository(direct.db, { statistics });
  const counts: Record<string, number> = {};
  const plans: Record<string, string> = {};
  for (const kind of kinds(rare)) {
    const q = kind.queries[0]!;
    const pieces = q.split(/\s+/u);
    const terms = searchTerms(await repo.chunks(pieces), pieces);
    const filter = { userId, ...terms, limit: 20, ...(kind.chat ? { chatId } : {}) };
    if (kind.page2) {
      const first = await repo.search(filter);
      Object.assign(filter, { before: first.ids.at(-1) });
    }
    await repo.search(filter);
    const query = direct.last();
    const countSql = `SELECT count(*)::int AS n FROM (${query.sql.replace(/ORDER BY[\s\S]*$/, '')}) x`;
    const counted = await direct.db.executeQuery<{ n: number }>(
      CompiledQuery.raw(countSql, query.parameters.slice(0, -1)),
    );
    counts[`${kind.name}: ${q}`] = counted.rows[0]!.n;
    if (values.explain) {
      const plan = await direct.db.executeQuery<Record<string, string>>(
        CompiledQuery.raw(`EXPLAIN (ANALYZE, BUFFERS) ${query.sql}`, query.parameters as unknown[]),
      );
      // The indexed expression spells out its character classes: shown as [...] here.
      plans[`${kind.name}: ${q}`] = plan.rows
        .map((r) => String(Object.values(r)[0]).replace(/'\[[^']*\]\+'::text/g, "'[...]+'"))
        .join('\n');
    }
  }
  return { counts, plans };
}

// --- One store ---------------------------------------------------------------------------------

async function runStore(store: 'pglite' | 'postgres') {
  const { databaseUrl, drop } =
    store === 'postgres' ? await freshDatabase() : { databaseUrl: undefined, drop: async () => {} };
  const dataDir = tempDir('parley-bench-search-');
  try {
    // Users and chats through the server, as a deployment makes them.
    let server = await startChild({ dataDir, databaseUrl });
    const me = await registerUser(server.url);
    const others = await Promise.all(Array.from({ length: 12 }, () => registerUser(server.url)));
    const mine: Chat[] = [];
    for (const other of others.slice(0, 6)) mine.push(await createDirect(me, other));
    for (let g = 0; g < 4; g++) mine.push(await createGroup(me, others.slice(g, g + 5), `g${g}`));
    // Other people's chats: a tenth of the messages, never to be found by `me`.
    const foreign = await createDirect(others[10]!, others[11]!);
    await server.stop('SIGTERM');

    const direct = await openDirect(databaseUrl, dataDir);
    const chats = [
      ...mine.map((c) => ({ id: c.id, senders: c.participants.map((p) => p.id) })),
      { id: foreign.id, senders: foreign.participants.map((p) => p.id) },
    ];
    const seedMs = await seed(direct.db, chats);
    // PostgreSQL's autovacuum would analyze the table within a minute; do it now. PGlite runs no
    // autovacuum: it is measured as the embedded server finds it (see the plans).
    if (store === 'postgres') await sql`ANALYZE`.execute(direct.db);
    // Rare words: tail words that occur in 3 to 30 of the messages.
    const rare = (
      await sql<{ w: string }>`
        SELECT word AS w FROM ts_stat('SELECT to_tsvector(''simple'', parley_words(content)) FROM messages')
        WHERE ndoc BETWEEN 3 AND 30 AND length(word) > 6 ORDER BY word LIMIT 4`.execute(direct.db)
    ).rows.map((r) => r.w);
    const { counts, plans } = await matchCounts(
      direct,
      store === 'postgres',
      me.user.id,
      mine[6]!.id,
      rare,
    );
    const sizes = (
      await sql<{ name: string; size: string }>`
        SELECT c.relname AS name, pg_size_pretty(pg_relation_size(c.oid)) AS size FROM pg_class c
        WHERE c.relname IN ('messages', 'messages_search_words_idx', 'messages_search_trgm_idx', 'messages_chat_seq_key')`.execute(
        direct.db,
      )
    ).rows;
    await direct.close();

    const t0 = performance.now();
    server = await startChild({ dataDir, databaseUrl });
    const startMs = performance.now() - t0;
    const timed = await timeSearches(server.url, me, mine[6]!.id, rare);
    const rssKb = Number(
      execFileSync('ps', ['-o', 'rss=', '-p', String(server.pid)])
        .toString()
        .trim(),
    );
    await server.stop('SIGTERM');

    console.log(
      JSON.stringify(
        {
          store,
          messages: total,
          seed_rows_per_s: Math.round(total / (seedMs / 1000)),
          server_start_ms: Math.round(startMs),
          server_rss_mib_after: Math.round(rssKb / 1024),
          sizes: Object.fromEntries(sizes.map((s) => [s.name, s.size])),
          matches: counts,
          latency_over_http: timed,
        },
        null,
        2,
      ),
    );
    for (const [name, plan] of Object.entries(plans))
      console.log(`\n--- ${store}: ${name}\n${plan}`);
  } finally {
    await killChildren();
    await drop();
  }
}

// --- PGlite alone: start time and memory, with and without the extensions ------------------------

// One process per start (RSS is the process's). `dir`: an existing data directory, as a server
// restarts on (the first start of each initialises it, unmeasured); none: in memory (initdb each
// time). "with" loads both extensions and uses them, as the server does.
const PGLITE_PROBE = `
import { existsSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
const [mode, dir] = process.argv.slice(2);
const withExt = mode === 'with';
const fresh = dir ? !existsSync(dir) : true;
const t0 = performance.now();
let extensions = {};
if (withExt) {
  const [{ pg_trgm }, { unaccent }] = await Promise.all([
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('@electric-sql/pglite/contrib/unaccent'),
  ]);
  extensions = { pg_trgm, unaccent };
}
const db = await PGlite.create({ ...(dir ? { dataDir: dir } : {}), extensions });
if (withExt && fresh) await db.exec('CREATE EXTENSION unaccent; CREATE EXTENSION pg_trgm;');
if (withExt) await db.query("SELECT lower(unaccent('Crème')), similarity('abc', 'abd')");
else await db.query('SELECT 1');
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, rss: process.memoryUsage().rss }));
await db.close();
`;

function pgliteAlone() {
  const serverDir = fileURLToPath(new URL('../packages/server/', import.meta.url));
  const probe = (mode: string, dir?: string) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        ['--input-type=module', '-e', PGLITE_PROBE, mode, ...(dir ? [dir] : [])],
        {
          cwd: serverDir,
        },
      ).toString(),
    ) as { ms: number; rss: number };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const summary: Record<string, { start_ms_median: number; rss_mib_median: number }> = {};
  const root = tempDir('parley-bench-pglite-');
  for (const where of ['existing data dir', 'in memory'] as const) {
    const runs: Record<string, { ms: number; rss: number }[]> = { without: [], with: [] };
    const dirs = { without: `${root}/without`, with: `${root}/with` };
    if (where === 'existing data dir')
      for (const mode of ['without', 'with'] as const) probe(mode, dirs[mode]);
    for (let i = 0; i < 5; i++) {
      for (const mode of ['without', 'with'] as const) {
        runs[mode]!.push(probe(mode, where === 'in memory' ? undefined : dirs[mode]));
      }
    }
    for (const [mode, rs] of Object.entries(runs)) {
      summary[`${where}, ${mode} extensions`] = {
        start_ms_median: Math.round(median(rs.map((r) => r.ms))),
        rss_mib_median: Math.round(median(rs.map((r) => r.rss)) / 1024 / 1024),
      };
    }
  }
  console.log(JSON.stringify({ pglite_alone: summary }, null, 2));
}

try {
  if (values.store !== 'postgres') await runStore('pglite');
  if (values.store !== 'pglite') await runStore('postgres');
  pgliteAlone();
} finally {
  removeTempDirs();
}
