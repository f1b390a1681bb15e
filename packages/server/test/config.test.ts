import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { removeTempDirs, tempDir } from './helpers/process.js';

afterAll(() => removeTempDirs());

/** A JWT_SECRET long enough, so that no test writes a generated one into ./data. */
const SECRET = 'a'.repeat(32);

/** The error loadConfig throws for `env`, or a failure if it throws none. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ JWT_SECRET: SECRET });
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      databaseUrl: undefined,
      dataDir: path.resolve('data'),
      redisUrl: undefined,
      jwtSecret: SECRET,
      jwtTtlSeconds: 604_800,
      corsOrigins: [],
      rateLimitAuth: 30,
      rateLimitMessages: 100,
      rateLimitEvents: 300,
      rateLimitChats: 60,
      maxSocketsPerUser: 20,
      trustProxy: 0,
      logLevel: 'info',
      production: false,
    });
  });

  it('reads every variable it documents', () => {
    const dataDir = tempDir();
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgresql://parley@db.example:5432/parley',
      DATA_DIR: dataDir,
      JWT_SECRET: SECRET,
      JWT_TTL: '3600',
      RATE_LIMIT_AUTH: '5',
      RATE_LIMIT_MESSAGES: '0',
      RATE_LIMIT_EVENTS: '50',
      RATE_LIMIT_CHATS: '0',
      MAX_SOCKETS_PER_USER: '3',
      TRUST_PROXY: '1',
      LOG_LEVEL: 'debug',
      NODE_ENV: 'production',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: 'postgresql://parley@db.example:5432/parley',
      dataDir,
      jwtTtlSeconds: 3600,
      rateLimitAuth: 5,
      rateLimitMessages: 0,
      rateLimitEvents: 50,
      rateLimitChats: 0,
      maxSocketsPerUser: 3,
      trustProxy: 1,
      logLevel: 'debug',
      production: true,
    });
  });

  it('accepts PORT=0 (pick a free port)', () => {
    expect(loadConfig({ JWT_SECRET: SECRET, PORT: '0' }).port).toBe(0);
  });

  it('treats an empty variable as unset, as `VAR=` in a shell means', () => {
    const config = loadConfig({ JWT_SECRET: SECRET, PORT: '', LOG_LEVEL: '', RATE_LIMIT_AUTH: '' });
    expect(config).toMatchObject({ port: 3000, logLevel: 'info', rateLimitAuth: 30 });
  });

  it('is frozen: nothing can change it after boot', () => {
    const config = loadConfig({ JWT_SECRET: SECRET, CORS_ORIGINS: 'https://a.example' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.corsOrigins)).toBe(true);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_LEVEL', 'INFO!'],
    ['RATE_LIMIT_AUTH', 'ten'],
    ['RATE_LIMIT_AUTH', '-5'],
    ['RATE_LIMIT_MESSAGES', '1e3'],
    ['JWT_TTL', '0'],
    ['DATABASE_URL', 'mysql://root@localhost/parley'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    const err = configError({ JWT_SECRET: SECRET, [name]: value });
    expect(err.message).toContain(name);
  });

  it('names every bad variable at once', () => {
    const err = configError({
      JWT_SECRET: SECRET,
      PORT: 'x',
      LOG_LEVEL: 'loud',
      RATE_LIMIT_MESSAGES: 'many',
    });
    for (const name of ['PORT', 'LOG_LEVEL', 'RATE_LIMIT_MESSAGES'])
      expect(err.message).toContain(name);
  });

  it('splits CORS_ORIGINS on commas, ignoring spaces, empty entries and a trailing slash', () => {
    const config = loadConfig({
      JWT_SECRET: SECRET,
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173 ,,https://b.example/',
    });
    expect(config.corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
      'https://b.example',
    ]);
  });

  describe('JWT_SECRET', () => {
    it('is required in production, and none is generated there', () => {
      const dataDir = tempDir();
      const err = configError({ NODE_ENV: 'production', DATA_DIR: dataDir });
      expect(err.message).toContain('JWT_SECRET');
      expect(existsSync(path.join(dataDir, 'jwt-secret'))).toBe(false);
    });

    it.each([
      ['31 ASCII characters', 'b'.repeat(31), 'refused'],
      ['32 ASCII characters', 'b'.repeat(32), 'accepted'],
      // Bytes, not characters: 16 two-byte characters are 32 bytes.
      ['16 two-byte characters', 'é'.repeat(16), 'accepted'],
      ['15 two-byte characters', 'é'.repeat(15), 'refused'],
    ])('of %s is %s', (_, secret, verdict) => {
      const env = { JWT_SECRET: secret, NODE_ENV: 'production' };
      if (verdict === 'accepted') expect(loadConfig(env).jwtSecret).toBe(secret);
      else expect(configError(env).message).toMatch(/JWT_SECRET.*32 bytes/);
    });

    it('is generated once into DATA_DIR when not given, and reused', () => {
      const dataDir = path.join(tempDir(), 'nested', 'data');
      const first = loadConfig({ DATA_DIR: dataDir });
      const file = path.join(dataDir, 'jwt-secret');
      expect(readFileSync(file, 'utf8').trim()).toBe(first.jwtSecret);
      expect(Buffer.byteLength(first.jwtSecret)).toBeGreaterThanOrEqual(32);
      // Only the server's user may read it.
      expect(statSync(file).mode & 0o077).toBe(0);

      const second = loadConfig({ DATA_DIR: dataDir });
      expect(second.jwtSecret).toBe(first.jwtSecret);
      expect(loadConfig({ DATA_DIR: tempDir() }).jwtSecret).not.toBe(first.jwtSecret);
    });

    it('refuses a kept secret file that holds no usable secret, instead of signing with it', () => {
      const dataDir = tempDir();
      writeFileSync(path.join(dataDir, 'jwt-secret'), '\n');
      expect(configError({ DATA_DIR: dataDir }).message).toMatch(/jwt-secret.*32 bytes/);
    });

    it('leaves no temporary file behind in DATA_DIR', () => {
      const dataDir = tempDir();
      loadConfig({ DATA_DIR: dataDir });
      loadConfig({ DATA_DIR: dataDir });
      expect(readdirSync(dataDir)).toEqual(['jwt-secret']);
    });

    it('given, is used as is and nothing is written to DATA_DIR', () => {
      const dataDir = tempDir();
      expect(loadConfig({ DATA_DIR: dataDir, JWT_SECRET: SECRET }).jwtSecret).toBe(SECRET);
      expect(existsSync(path.join(dataDir, 'jwt-secret'))).toBe(false);
    });
  });
});
