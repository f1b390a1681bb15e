import { randomUUID } from 'node:crypto';

/**
 * A new message id: a UUID of version 7 (RFC 9562), whose first 48 bits are the time in
 * milliseconds, so that the ids of new messages land at the right-hand end of the primary key's
 * B-tree instead of anywhere in it. After a checkpoint PostgreSQL logs a whole page the first
 * time it changes one: random ids touch a different leaf of a large index with nearly every
 * insert, ordered ids the same few. 100,000 rows inserted 20 at a time into a table of a million
 * (uuid primary key alone): 17 MB of WAL against 47 MB with random ids (docs/PERFORMANCE.md).
 *
 * The 74 random bits, and the variant, are those of Node's `randomUUID()` (drawn from a pool),
 * whose version nibble and first 48 bits are replaced: about 1 µs an id. The `uuid` package's
 * `v7()` asks WebCrypto for random bytes at every call: 3.8 µs.
 */
export function newMessageId(): string {
  const random = randomUUID();
  const ms = Date.now().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${random.slice(15)}`;
}
