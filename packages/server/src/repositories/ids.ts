import { randomUUID } from 'node:crypto';

/**
 * A new message id: a UUID of version 7 (RFC 9562), whose first 48 bits are the time in
 * milliseconds, so that new messages' ids land together in the primary key's B-tree instead of
 * anywhere in it: at its right-hand end in a new database, at one place among the random ids of
 * a database from before (where its pages split in halves, not at the end). After a checkpoint
 * PostgreSQL logs a whole page the first time it changes one: random ids touch a different leaf
 * of a large index with nearly every insert, ordered ids the same few. 100,000 rows inserted 20
 * at a time into a table of a million ordered ids (a uuid primary key alone): 17 MB of WAL against
 * 47 MB with random ids (docs/PERFORMANCE.md).
 *
 * Made here rather than by the column's default, `gen_random_uuid()`, which also costs PGlite an
 * open, read and close of /dev/urandom in its emulated file system at every call.
 *
 * The 74 random bits, and the variant, are those of Node's `randomUUID()` (drawn from a pool),
 * whose version nibble and first 48 bits are replaced: about 1 µs an id, still far too many
 * random bits to collide or be guessed. The `uuid` package's `v7()` asks WebCrypto for random
 * bytes at every call: 3.8 µs.
 */
export function newMessageId(): string {
  const random = randomUUID();
  const ms = Date.now().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${random.slice(15)}`;
}
