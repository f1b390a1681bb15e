import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The server binaries of Debian's newest installed PostgreSQL (postgresql-15 here and in CI). */
const BIN = (() => {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return path.join(root, versions[0] ?? 'none', 'bin');
})();

/** Whether this machine has the PostgreSQL server binaries. */
export const postgresInstalled = () => existsSync(path.join(BIN, 'initdb'));

/**
 * A PostgreSQL cluster of the test's own, to stop and start at will: initdb into a temporary
 * directory, on a free port. PostgreSQL refuses to run as root, so it runs as `postgres` (we are
 * root here and in CI).
 */
export interface PgInstance {
  readonly url: string;
  start(): Promise<void>;
  /** `fast` shutdown: open sessions are ended with 57P01, as a restart does. */
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export async function createPgInstance(): Promise<PgInstance> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-pg-'));
  const { uid, gid } = await postgresUser();
  chownSync(dir, uid, gid);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const asPostgres = (cmd: string, args: string[]) =>
    run('runuser', ['-u', 'postgres', '--', path.join(BIN, cmd), ...args]);
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '-N']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  let running = false;
  const instance: PgInstance = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: async () => {
      await asPostgres('pg_ctl', [
        '-D',
        data,
        '-o',
        options,
        '-l',
        path.join(dir, 'log'),
        '-w',
        'start',
      ]);
      running = true;
    },
    stop: async () => {
      await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      running = false;
    },
    destroy: async () => {
      if (running) await instance.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await instance.start();
  return instance;
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    run('id', ['-u', 'postgres']),
    run('id', ['-g', 'postgres']),
  ]);
  return { uid: Number(uid), gid: Number(gid) };
}

/** A port nobody listens on now (the kernel's pick for port 0, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
