import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../..', import.meta.url));
const STARTUP_MS = 90_000;
const SHUTDOWN_MS = 15_000;

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  /** SIGTERM, then wait for the process to exit. Keeps the data directory. */
  stop(): Promise<void>;
  /** Stops and deletes the data directory. */
  dispose(): Promise<void>;
}

/**
 * Starts the real server as `npm start` runs it (the compiled packages/server/dist/main.js that
 * the global setup built), on `port` (0: any free one) with the embedded database in `dataDir`
 * (default: a fresh temporary copy of the global setup's template), and waits for its
 * `listening` line.
 */
export async function startServer(
  options: { port?: number; dataDir?: string; env?: Record<string, string> } = {},
) {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await freshDataDir());
  const child = spawn(process.execPath, ['--enable-source-maps', 'packages/server/dist/main.js'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      // Production demands a configured JWT_SECRET; these servers generate theirs.
      NODE_ENV: process.env.NODE_ENV === 'production' ? 'test' : process.env.NODE_ENV,
      PORT: String(options.port ?? 0),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_AUTH: '0',
      RATE_LIMIT_MESSAGES: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });

  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`The server did not report listening within ${STARTUP_MS} ms.\n${log}`));
    }, STARTUP_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      log += `${line}\n`;
      try {
        const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
        if (entry.msg === 'listening' && typeof entry.url === 'string') {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // Not a JSON line: keep it in the log only.
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`The server exited (${code ?? signal}) before listening.\n${log}`));
    });
  });

  let url: string;
  try {
    url = await listening;
  } catch (err) {
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const stop = () => stopProcess(child);
  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
    stop,
    async dispose() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  } satisfies TestServer;
}

/** A copy of the template: an initialised, migrated and stopped server's data directory. */
async function freshDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-e2e-'));
  await cp(inject('templateDataDir'), dir, { recursive: true });
  return dir;
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
