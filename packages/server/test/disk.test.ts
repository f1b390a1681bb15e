import { execFileSync } from 'node:child_process';
import { rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Ack, ErrorResponse, Message } from '@parley/protocol';
import { DISK_RESERVE_BYTES } from '../src/db/embedded.js';
import { closeSockets, connect, createDirect, emitAck, registerUser } from './helpers/client.js';
import {
  fetchHistory,
  killChildren,
  removeTempDirs,
  runUntilExit,
  startChild,
  tempDir,
} from './helpers/process.js';

/**
 * The embedded database on a disk that is read-only or full. A small tmpfs mounted for the test
 * (root, as here and in CI) stands in for the disk. PGlite cannot live through ENOSPC (its next
 * query spins forever), so the server stops short of it: below a reserve of free space every
 * statement answers `unavailable` and health 503, and all is well again once there is room.
 */

const mounts: string[] = [];
const MiB = 1024 * 1024;

function tmpfs(sizeMiB: number, options = ''): string {
  const dir = tempDir('parley-disk-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m${options}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

const freeBytes = (dir: string) => {
  const { bavail, bsize } = statfsSync(dir);
  return bavail * bsize;
};

afterEach(async () => {
  closeSockets();
  await killChildren();
});

afterAll(() => {
  for (const dir of mounts.splice(0)) execFileSync('umount', ['-l', dir]);
  removeTempDirs();
});

describe('a DATA_DIR that cannot be written refuses the start, with a clear message', () => {
  it.each([
    ['read-only, with no kept secret', { env: {} }],
    ['read-only, with JWT_SECRET set', { env: { JWT_SECRET: 'x'.repeat(40) } }],
  ])('%s', async (_, { env }) => {
    const dir = tmpfs(16);
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    const exit = await runUntilExit({ dataDir: dir, env });
    expect(exit.listened).toBe(false);
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain(`parley: cannot write DATA_DIR ${dir}: read-only file system`);
    expect(exit.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('with less free space than the embedded database keeps in reserve', async () => {
    const dir = tmpfs(Math.floor(DISK_RESERVE_BYTES / MiB / 2));
    const exit = await runUntilExit({ dataDir: dir });
    expect(exit.listened).toBe(false);
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(
      new RegExp(`parley: cannot write DATA_DIR ${dir}: \\d+ MiB free, under the 64 MiB`),
    );
  });
});

describe('a disk that fills up under a running server', () => {
  it('answers writes unavailable and health 503 while full, stays up, and recovers once there is room', async () => {
    // Room for PGlite (about 40 MiB), its reserve, and some writes.
    const dir = tmpfs(Math.ceil(DISK_RESERVE_BYTES / MiB) + 96);
    const server = await startChild({ dataDir: dir });
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const socket = await connect(server.url, alice.token);
    const send = (clientMessageId: string) =>
      emitAck<'message:send', { message: Message }>(socket, 'message:send', {
        chatId: chat.id,
        content: `${clientMessageId} ✓`,
        clientMessageId,
      });
    const health = () => fetch(`${server.url}/api/health`).then((r) => r.status);
    expect((await send('before')).ok).toBe(true);
    expect(await health()).toBe(200);

    // Another tenant of the disk takes every byte left.
    const filler = path.join(dir, 'filler');
    writeFileSync(filler, Buffer.alloc(0));
    try {
      writeFileSync(filler, Buffer.alloc(freeBytes(dir)));
    } catch {
      // ENOSPC on the last page: the disk is full, as intended.
    }
    expect(freeBytes(dir)).toBeLessThan(MiB);

    const started = performance.now();
    const refused: Ack<{ message: Message }> = await send('while-full');
    const rest = await alice.api.post<ErrorResponse>(`/chats/${chat.id}/messages`, {
      content: 'rest while full',
      clientMessageId: 'rest-while-full',
    });
    const healthWhileFull = await health();
    const elapsed = performance.now() - started;
    expect(refused).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(rest.status).toBe(503);
    expect(rest.body.error.code).toBe('unavailable');
    expect(healthWhileFull).toBe(503);
    expect(elapsed).toBeLessThan(2000);
    expect(server.process.exitCode).toBeNull();

    rmSync(filler);
    expect(await health()).toBe(200);
    const after = await send('after');
    expect(after.ok).toBe(true);
    const history = await fetchHistory(alice, chat.id);
    expect(history.map((m) => m.client_message_id)).toEqual(['before', 'after']);
  }, 120_000);
});
