// `npm run cluster -- --nodes 3`: several Parley processes on one PostgreSQL and one Redis,
// behind nginx on one port, in the foreground until Ctrl-C. docs/SCALING.md says what it shows.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const TEMPLATE = path.join(root, 'deploy', 'nginx.conf');
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/parley_cluster';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const STARTUP_MS = 90_000;
// The server promises to exit within 10 s of SIGTERM.
const SHUTDOWN_MS = 15_000;

const USAGE = `usage: npm run cluster -- [--nodes N] [--port P] [--node-port B] [--no-redis]
       node scripts/cluster.mjs --print-nginx [--port P] [--backends host:port,...]

  --nodes N       server processes (default 3)
  --port P        nginx's port, the one address clients use (default $PORT, else 3000)
  --node-port B   the first process's port; the others follow (default P+1; 0: any free ports)
  --no-redis      start the processes without REDIS_URL: each is then a server of its own that
                  shares only PostgreSQL (for checking the proxy alone; events do not cross)
  --print-nginx   print deploy/nginx.conf rendered for these processes (or --backends) and exit

Environment: DATABASE_URL (default ${DEFAULT_DATABASE_URL}, created when missing),
REDIS_URL (default ${DEFAULT_REDIS_URL}), JWT_SECRET (default: generated once, kept in
DATA_DIR/jwt-secret), DATA_DIR (./data), and any other server variable, passed to every process.`;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      nodes: { type: 'string', default: '3' },
      port: { type: 'string', default: process.env.PORT ?? '3000' },
      'node-port': { type: 'string' },
      'no-redis': { type: 'boolean', default: false },
      'print-nginx': { type: 'boolean', default: false },
      backends: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  fail(`${err.message}\n\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const nodeCount = whole('--nodes', args.nodes, 1, 64);
const port = whole('--port', args.port, 1, 65535);
const firstNodePort = whole('--node-port', args['node-port'] ?? String(port + 1), 0, 65535);
if (firstNodePort !== 0 && firstNodePort + nodeCount - 1 > 65535) fail('--node-port: too high');

if (args['print-nginx']) {
  const backends = args.backends
    ? args.backends.split(',').map((b) => b.trim())
    : Array.from({ length: nodeCount }, (_, i) => `127.0.0.1:${firstNodePort + i}`);
  process.stdout.write(renderNginx(backends, String(port)));
  process.exit(0);
}

if (!existsSync(NGINX)) {
  fail(`nginx is not installed (${NGINX}). On Debian:\n  apt-get install -y nginx`);
}

const dataDir = path.resolve(process.env.DATA_DIR || './data');
const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
const redisUrl = args['no-redis'] ? undefined : process.env.REDIS_URL || DEFAULT_REDIS_URL;

await ensureDatabase(databaseUrl);
if (redisUrl) await ensureRedis(redisUrl);
else {
  say('--no-redis: every process is a server of its own; messages do not cross between them');
}
// What `npm start` does too: the processes serve packages/web/dist.
spawnSync(process.execPath, [path.join(root, 'scripts', 'ensure-web.mjs')], { stdio: 'inherit' });
const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'ensure-server.mjs')], {
  stdio: 'inherit',
});
if (built.status !== 0) throw new Error('the server did not build');

// One secret for all: a token signed by one process must be accepted by every other.
const jwtSecret = process.env.JWT_SECRET || sharedSecret(dataDir);

const nodeEnv = {
  ...process.env,
  HOST: '127.0.0.1',
  DATABASE_URL: databaseUrl,
  DATA_DIR: dataDir,
  JWT_SECRET: jwtSecret,
  // nginx is one hop: its X-Forwarded-For names the client.
  TRUST_PROXY: process.env.TRUST_PROXY || '1',
};
if (redisUrl) nodeEnv.REDIS_URL = redisUrl;
else delete nodeEnv.REDIS_URL;

/** @type {{ name: string, child: import('node:child_process').ChildProcess, address?: string }[]} */
const nodes = [];
/** @type {import('node:child_process').ChildProcess | undefined} */
let nginx;
let prefix;
let stopping = false;

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
// Last resort, should this script die of an error: leave no process behind.
process.on('exit', () => {
  for (const { child } of nodes) if (running(child)) child.kill('SIGKILL');
  if (nginx && running(nginx)) nginx.kill('SIGKILL');
  if (prefix) rmSync(prefix, { recursive: true, force: true });
});

try {
  say(
    `starting ${nodeCount} processes (DATABASE_URL ${redact(databaseUrl)}${redisUrl ? `, REDIS_URL ${redact(redisUrl)}` : ''})`,
  );
  const addresses = await Promise.all(
    Array.from({ length: nodeCount }, (_, i) =>
      startNode(`node${i + 1}`, firstNodePort === 0 ? 0 : firstNodePort + i),
    ),
  );
  await startNginx(addresses);
  say(`Parley: http://localhost:${port}/`);
  for (const node of nodes) say(`  ${node.name}  http://${node.address}  pid ${node.child.pid}`);
  say('Ctrl-C stops everything');
} catch (err) {
  // After Ctrl-C the processes being stopped fail their start: nothing to report then.
  if (!stopping) say(err instanceof Error ? err.message : String(err));
  await stopAll(1);
}

/** Starts one server process and resolves with the address it reports once listening. */
function startNode(name, nodePort) {
  const child = spawn(process.execPath, ['--enable-source-maps', 'packages/server/dist/main.js'], {
    cwd: root,
    env: { ...nodeEnv, PORT: String(nodePort) },
    // Its own process group: Ctrl-C reaches this script alone, which stops the processes in order.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node = { name, child, address: undefined };
  nodes.push(node);
  const label = `${name} | `;
  createInterface({ input: child.stderr }).on('line', (line) => {
    process.stderr.write(label + line + '\n');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${name} did not report listening within ${STARTUP_MS / 1000} s`));
    }, STARTUP_MS);
    createInterface({ input: child.stdout }).on('line', (line) => {
      process.stdout.write(label + line + '\n');
      if (node.address) return;
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening' && typeof entry.url === 'string') {
          clearTimeout(timer);
          node.address = new URL(entry.url).host;
          resolve(node.address);
        }
      } catch {
        // Not a JSON line: shown above, nothing more.
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const how = signal ? `was killed (${signal})` : `exited (code ${code})`;
      if (!node.address) {
        reject(new Error(`${name} ${how} before listening`));
        return;
      }
      if (stopping) return;
      // Not restarted: a supervisor's job, and a silent restart would hide the crash.
      const left = nodes.filter((n) => running(n.child));
      say(
        `${name} (${node.address}, pid ${child.pid}) ${how}; not restarted. ` +
          (left.length > 0
            ? `nginx sends its clients to the ${left.length} left: ${left.map((n) => n.name).join(', ')}`
            : 'no process is left'),
      );
      if (left.length === 0) void stopAll(1);
    });
  });
}

async function startNginx(addresses) {
  prefix = mkdtempSync(path.join(tmpdir(), 'parley-nginx-'));
  // nginx started as root runs its workers as nobody, who must reach the temp paths in here.
  chmodSync(prefix, 0o755);
  mkdirSync(path.join(prefix, 'logs'));
  writeFileSync(path.join(prefix, 'parley.conf'), renderNginx(addresses, String(port)));
  writeFileSync(
    path.join(prefix, 'nginx.conf'),
    [
      '# Written by scripts/cluster.mjs for one run; parley.conf is deploy/nginx.conf rendered.',
      'worker_processes 1;',
      'pid nginx.pid;',
      'error_log stderr warn;',
      'events { worker_connections 4096; }',
      'http {',
      '    access_log logs/access.log;',
      '    client_body_temp_path temp/client_body;',
      '    proxy_temp_path temp/proxy;',
      '    fastcgi_temp_path temp/fastcgi;',
      '    uwsgi_temp_path temp/uwsgi;',
      '    scgi_temp_path temp/scgi;',
      '    include parley.conf;',
      '}',
      '',
    ].join('\n'),
  );
  mkdirSync(path.join(prefix, 'temp'));
  const nginxArgs = ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', 'stderr'];
  const check = spawnSync(NGINX, [...nginxArgs, '-t', '-q'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx refuses its configuration:\n${check.stderr}`);

  nginx = spawn(NGINX, [...nginxArgs, '-g', 'daemon off;'], {
    detached: true,
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  createInterface({ input: nginx.stderr }).on('line', (line) => {
    process.stderr.write(`nginx | ${line}\n`);
  });
  const exited = new Promise((resolve) => nginx.once('exit', resolve));
  const up = await Promise.race([waitForPort(port).then(() => true), exited.then(() => false)]);
  if (!up) throw new Error(`nginx did not start (is port ${port} free?)`);
  void exited.then((code) => {
    if (stopping) return;
    say(`nginx exited (code ${code}); stopping the processes`);
    void stopAll(1);
  });
  say(`nginx log: ${path.join(prefix, 'logs', 'access.log')}`);
}

/** deploy/nginx.conf with a {{backend}} line per process and {{listen}} filled in. */
function renderNginx(backends, listen) {
  // Comments are left as they are: the template's own notes name the placeholders.
  return readFileSync(TEMPLATE, 'utf8')
    .split('\n')
    .flatMap((line) => {
      if (line.trimStart().startsWith('#')) return [line];
      if (line.includes('{{backend}}'))
        return backends.map((backend) => line.replaceAll('{{backend}}', backend));
      return [line.replaceAll('{{listen}}', listen)];
    })
    .join('\n');
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  const live = nodes.filter((n) => running(n.child));
  if (live.length > 0) say(`stopping ${live.map((n) => n.name).join(', ')}`);
  // The processes first, while nginx still carries their goodbyes to the clients.
  await Promise.all(nodes.map(({ child }) => stop(child, 'SIGTERM')));
  if (nginx) await stop(nginx, 'SIGTERM');
  if (prefix) rmSync(prefix, { recursive: true, force: true });
  prefix = undefined;
  say('stopped');
  process.exit(code);
}

function stop(child, signal) {
  if (!running(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

function running(child) {
  return child.exitCode === null && child.signalCode === null;
}

/** Connects to the database; creates it when it does not exist (PostgreSQL's 3D000). */
async function ensureDatabase(url) {
  const { default: pg } = await import('pg');
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await probe.connect();
    return;
  } catch (err) {
    if (err.code !== '3D000') fail(`PostgreSQL at ${redact(url)} does not answer: ${err.message}`);
  } finally {
    await probe.end().catch(() => {});
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const admin = new pg.Client({
    connectionString: maintenance.href,
    connectionTimeoutMillis: 5000,
  });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    say(`created database ${name}`);
  } catch (err) {
    // Another run may have created it meanwhile.
    if (err.code !== '42P04') fail(`cannot create database ${name}: ${err.message}`);
  } finally {
    await admin.end().catch(() => {});
  }
}

async function ensureRedis(url) {
  const { createClient } = await import('redis');
  const client = createClient({ url, socket: { connectTimeout: 5000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    fail(
      `Redis at ${redact(url)} does not answer: ${err.message}\n` +
        '  start one (redis-server --port 6379 --daemonize yes), or pass --no-redis to check the proxy alone',
    );
  } finally {
    client.destroy();
  }
}

/** DATA_DIR/jwt-secret, as the server itself keeps it: written whole, then linked into place. */
function sharedSecret(dir) {
  const file = path.join(dir, 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const draft = `${file}.${process.pid}.tmp`;
    writeFileSync(draft, randomBytes(48).toString('base64url') + '\n', { mode: 0o600 });
    try {
      linkSync(draft, file);
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    } finally {
      rmSync(draft, { force: true });
    }
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (Buffer.byteLength(secret) < 32)
    fail(`${file} holds no usable secret: remove it or set JWT_SECRET`);
  return secret;
}

function waitForPort(p) {
  const deadline = Date.now() + 10_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect({ host: '127.0.0.1', port: p });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing answers on port ${p}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** A URL without its password, for printing. */
function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return '(unparsable URL)';
  }
}

function whole(flag, value, min, max) {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) fail(`${flag} must be a whole number from ${min} to ${max}`);
  return n;
}

function say(line) {
  console.error(`cluster: ${line}`);
}

function fail(message) {
  console.error(`cluster: ${message}`);
  process.exit(1);
}
