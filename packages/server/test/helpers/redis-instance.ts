import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './pg-instance.js';

const REDIS_SERVER = '/usr/bin/redis-server';

/** Whether this machine has Debian's redis-server. */
export const redisInstalled = () => existsSync(REDIS_SERVER);

/**
 * A redis-server of the test's own, on a free port, to stop and start at will (the machine's
 * Redis on 6379 is shared and must not be restarted). Nothing is persisted (`--save ""`,
 * `--appendonly no`): a restart comes back empty, the harshest case for the servers using it.
 */
export interface RedisInstance {
  readonly port: number;
  readonly url: string;
  /** Starts redis-server on the same port and resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGTERM, and resolves once the process has exited (its port is then closed). */
  stop(): Promise<void>;
  /** One command, answered with the raw reply line (`+OK`, `:3`, ...). */
  command(...args: string[]): Promise<string>;
  destroy(): Promise<void>;
}

export async function createRedisInstance(): Promise<RedisInstance> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  // A test run that dies must not leave a redis-server behind.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const instance: RedisInstance = {
    port,
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      const proc = spawn(
        REDIS_SERVER,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--loglevel',
          'warning',
        ],
        { stdio: 'ignore' },
      );
      child = proc;
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      const deadline = Date.now() + 10_000;
      for (;;) {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          throw new Error(`redis-server on port ${port} exited at start`);
        }
        if ((await ping(port)) === '+PONG') return;
        if (Date.now() > deadline) throw new Error(`redis-server on port ${port} never answered`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    stop: async () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      child = undefined;
    },
    command: (...args) => command(port, args),
    destroy: async () => {
      await instance.stop();
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await instance.start();
  return instance;
}

const ping = (port: number) => command(port, ['PING']).catch(() => 'refused');

/** Sends one command in RESP and resolves with the first line of the reply. */
function command(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.setTimeout(2000, () => socket.destroy(new Error('redis did not answer')));
    socket.once('error', reject);
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const end = reply.indexOf('\r\n');
      if (end < 0) return;
      socket.end();
      resolve(reply.slice(0, end));
    });
    socket.once('connect', () => {
      const parts = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`);
      socket.write(`*${args.length}\r\n${parts.join('')}`);
    });
  });
}
