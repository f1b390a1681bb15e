// `npm run cluster`: three server processes on PostgreSQL and Redis behind nginx. Two people whose
// browsers nginx holds on different processes chat as they would on one server, and one whose
// process dies carries on from another with nothing missed.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chats,
  launchBrowser,
  messageItem,
  openChat,
  send,
  signUp,
  startDirectChat,
  textOf,
  visible,
  type Person,
} from './support/browser.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
// Both services are always on the CI machine; the database is this file's own.
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const STARTUP_MS = 150_000;
const SHUTDOWN_MS = 40_000;

interface Cluster {
  url: string;
  /** Each process's address, as nginx names it in its cookie, and its pid. */
  pids: Map<string, number>;
  stop(): Promise<void>;
}

let database: { url: string; drop(): Promise<void> };
let dataDir: string;
let cluster: Cluster;
let browser: Browser;
let alice: Person;
let bruno: Person;

beforeAll(async () => {
  database = await freshDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'parley-e2e-cluster-'));
  // One after the other: a failure of either leaves nothing running that afterAll cannot stop.
  browser = await launchBrowser();
  cluster = await startCluster();
});

afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

// The tests of this file run in order and share the two people and their conversation.
describe('three processes behind nginx', () => {
  it('holds each browser on one process, a different one for each person', async () => {
    alice = await signUp(browser, cluster.url, 'alice', 'Alice Martin');
    bruno = await signUp(browser, cluster.url, 'bruno', 'Bruno Costa');
    expect(cluster.pids.size).toBe(3);
    const aliceNode = await nodeOf(alice.page);
    const brunoNode = await nodeOf(bruno.page);
    expect([...cluster.pids.keys()]).toEqual(expect.arrayContaining([aliceNode, brunoNode]));
    expect(aliceNode).not.toBe(brunoNode);

    // Socket.IO's polling transport, the first a browser uses, is several requests per
    // session: every one of them reaches the process that holds the session.
    for (const person of [alice, bruno]) {
      const answered = await socketAnswersAfterReload(person.page);
      expect([...answered]).toEqual([await nodeOf(person.page)]);
    }
  });

  it('delivers across processes both ways, with presence and read receipts', async () => {
    await startDirectChat(alice.page, 'bruno');
    await visible(alice.page.getByRole('heading', { name: 'Bruno Costa' }));
    await visible(alice.page.getByText('online', { exact: true }));
    await send(alice.page, 'Hi Bruno, which server are you on?');

    // The chat reaches Bruno on his process without him doing anything.
    const entry = chats(bruno.page).getByRole('link', { name: /^Alice Martin/ });
    await visible(entry);
    await textOf(entry, /which server are you on\?/);
    await openChat(bruno.page, 'Alice Martin');
    await visible(messageItem(bruno.page, 'Hi Bruno, which server are you on?'));
    await visible(messageItem(alice.page, 'which server').getByText('Seen', { exact: true }));

    await send(bruno.page, 'No idea, and it does not matter.');
    await visible(messageItem(alice.page, 'No idea, and it does not matter.'));
  });

  it('moves a person whose process dies to another, with nothing missed', async () => {
    const brunoNode = await nodeOf(bruno.page);
    const pid = cluster.pids.get(brunoNode);
    if (pid === undefined) throw new Error(`No process at ${brunoNode}`);
    process.kill(pid, 'SIGKILL');

    // Alice's process is alive: her send is acked while Bruno's page is still reconnecting.
    await send(alice.page, 'Did this one reach you?');
    await visible(messageItem(bruno.page, 'Did this one reach you?'), 30_000);
    const movedTo = await nodeOf(bruno.page);
    expect(movedTo).not.toBe(brunoNode);
    expect(cluster.pids.has(movedTo)).toBe(true);

    await send(bruno.page, 'Yes, through another process.');
    await visible(messageItem(alice.page, 'Yes, through another process.'));
  });
});

/** The process nginx holds this browser on: the value of the cookie it set. */
async function nodeOf(page: Page): Promise<string> {
  const cookies = await page.context().cookies();
  const node = cookies.find((c) => c.name === 'parley_node')?.value;
  if (!node) throw new Error('nginx set no parley_node cookie');
  return node;
}

/** Reloads the page; the processes that answered its Socket.IO requests, by X-Parley-Node. */
async function socketAnswersAfterReload(page: Page): Promise<Set<string>> {
  const answered = new Set<string>();
  const record = (response: Response) => {
    if (new URL(response.url()).pathname.startsWith('/socket.io/')) {
      answered.add(response.headers()['x-parley-node'] ?? '(no header)');
    }
  };
  page.on('response', record);
  try {
    await page.reload();
    await visible(page.getByRole('button', { name: 'Sign out', exact: true }));
    // The handshake and the first polls: the socket is up, whether or not it upgraded since.
    await expect.poll(() => answered.size, { timeout: 15_000 }).toBeGreaterThan(0);
  } finally {
    page.off('response', record);
  }
  return answered;
}

/** `node scripts/cluster.mjs --nodes 3` on a free port, as `npm run cluster` runs it. */
async function startCluster(): Promise<Cluster> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['scripts/cluster.mjs', '--nodes', '3', '--port', String(port), '--node-port', '0'],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        NODE_ENV: process.env.NODE_ENV === 'production' ? 'test' : process.env.NODE_ENV,
        DATABASE_URL: database.url,
        REDIS_URL,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_AUTH: '0',
        RATE_LIMIT_MESSAGES: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const pids = new Map<string, number>();
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`The cluster was not up within ${STARTUP_MS} ms.\n${log}`));
    }, STARTUP_MS);
    createInterface({ input: child.stderr }).on('line', (line) => {
      log += `${line}\n`;
      const node = /^cluster: +node\d+ +http:\/\/(\S+) +pid (\d+)$/.exec(line);
      if (node?.[1] && node[2]) pids.set(node[1], Number(node[2]));
      if (line === 'cluster: Ctrl-C stops everything') {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`The cluster exited (${code ?? signal}) before it was up.\n${log}`));
    });
  });
  try {
    await ready;
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, pids, stop: () => stopProcess(child) };
}

/** SIGTERM (the script stops its processes, then nginx), then wait for the exit. */
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `parley_e2e_cluster_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: ADMIN_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
