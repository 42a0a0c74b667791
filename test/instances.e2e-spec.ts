import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenerApplicationName } from '../src/tokens/revocation/revocation-listener';
import { GOOD_PASSWORD, uniqueEmail } from './support/api';
import { decodeJwt } from './support/jwt';
import { compileService, CompiledService } from './support/compiled-service';
import { createTestDatabase, TestDatabase } from './support/test-app';
import { POSTGRES_SERVER_URL } from './support/database-templates';

/**
 * The contract's "Several instances": two service processes (the compiled service, `node
 * src/main.js`, as production runs it) on one PostgreSQL and one Redis, with the same keys.
 * A token of one is accepted by the other; revocations made on one hold on the other within
 * one second (PostgreSQL LISTEN/NOTIFY); rate limits and the login back-off are counted once
 * (Redis); racing refreshes on both end in one token; an instance that was stopped, or whose
 * channel dropped, catches up when it comes back.
 *
 * Always on a PostgreSQL server (DATABASE_URL's, or the local one) and the local Redis:
 * PGlite serves one process. Instance B listens through a TCP relay held by this test
 * (DATABASE_LISTEN_URL, as through PgBouncer in session mode), so that the test decides how
 * long B's channel stays down once the database has dropped it.
 */

const REDIS_URL = 'redis://127.0.0.1:6379';
const REDIS_KEY_PREFIX = `instances-e2e:${randomBytes(6).toString('hex')}:`;
const AUTH_RATE_LIMIT = 5;
const ADMIN = { email: uniqueEmail('admin'), password: 'an admin passphrase for two instances' };

/** Production-style: one set of keys shared by every instance, none generated into a DATA_DIR. */
const SHARED_KEYS = {
  JWT_SECRET: randomBytes(48).toString('base64'),
  REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64'),
  MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
};

let compiled: CompiledService;
let database: TestDatabase;
let relay: Relay;
/** B's DATABASE_LISTEN_URL: the relay. */
let listenUrl: string;
let a: Instance;
let b: Instance;
const dataDirs: string[] = [];
const instances: Instance[] = [];

// ---------------------------------------------------------------- processes

interface Instance {
  name: string;
  url: string;
  process: ChildProcess;
  /** The process's stdout, one JSON log line an entry, from its start. */
  lines: string[];
  stderr: string;
  /** SIGTERM, and the exit: a clean one is code 0, or the signal itself (Nest re-raises it after its shutdown hooks). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function instanceEnv(port: number, extra: Record<string, string>): NodeJS.ProcessEnv {
  const dataDir = mkdtempSync(join(tmpdir(), 'instances-e2e-'));
  dataDirs.push(dataDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...compiled.env,
    ...SHARED_KEYS,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    PORT: String(port),
    DATA_DIR: dataDir,
    DATABASE_URL: database.env.DATABASE_URL,
    REDIS_URL,
    REDIS_KEY_PREFIX,
    BCRYPT_COST: '4',
    AUTH_RATE_LIMIT: String(AUTH_RATE_LIMIT),
    LOGIN_BACKOFF_THRESHOLD: '2',
    LOGIN_BACKOFF_MAX: '30s',
    // Behind a load balancer on loopback: each test names its clients in X-Forwarded-For.
    TRUST_PROXY: 'loopback',
    EMAIL_VERIFICATION: 'off',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ...extra,
  };
  if (!extra.DATABASE_LISTEN_URL) delete env.DATABASE_LISTEN_URL;
  return env;
}

async function startInstance(name: string, extra: Record<string, string> = {}): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/main.js'], { cwd: compiled.root, env: instanceEnv(port, extra), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const instance: Instance = {
    name,
    url: `http://127.0.0.1:${port}`,
    process: child,
    lines: [],
    stderr: '',
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const lines = text.split('\n');
    partial = lines.pop()!;
    instance.lines.push(...lines.filter((line) => line.trim() !== ''));
  });
  child.stderr!.on('data', (chunk: Buffer) => (instance.stderr += chunk.toString()));
  instances.push(instance);
  for (let waited = 0; ; waited += 1) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${instance.stderr}\n${instance.lines.join('\n')}`);
    if (waited > 1200) throw new Error(`${name} did not answer /health within 120 s:\n${instance.stderr}`);
    const up = await fetch(`${instance.url}/health`).then((response) => response.status === 200, () => false);
    if (up) return instance;
    await sleep(100);
  }
}

/** The log lines with this `event`, parsed, from the `from`th line on. */
function events(instance: Instance, event: string, from = 0): Array<Record<string, unknown>> {
  return instance.lines
    .slice(from)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((entry) => entry.event === event);
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- the relay

/**
 * A TCP relay to the PostgreSQL server: what B's DATABASE_LISTEN_URL points to. When the
 * server ends a session the relay ends the client's side; while `refusing`, it closes new
 * connections at once, so that B stays without a channel until the test says otherwise.
 */
interface Relay {
  port: number;
  refusing: boolean;
  close(): Promise<void>;
}

async function startRelay(host: string, port: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const relay = { port: 0, refusing: false, close: async () => undefined as void };
  const server: Server = createServer((downstream) => {
    if (relay.refusing) {
      downstream.destroy();
      return;
    }
    const upstream = connect(port, host);
    for (const socket of [downstream, upstream]) sockets.add(socket);
    const end = () => {
      downstream.destroy();
      upstream.destroy();
      sockets.delete(downstream);
      sockets.delete(upstream);
    };
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    for (const socket of [downstream, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.port = (server.address() as AddressInfo).port;
  relay.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return relay;
}

// ---------------------------------------------------------------- HTTP

let clients = 0;
/** A client address of its own (the instances trust X-Forwarded-For from loopback). */
function clientIp(): string {
  clients += 1;
  return `10.77.${clients >> 8}.${clients & 255}`;
}

interface Session {
  email: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
}

async function registerOn(instance: Instance, email = uniqueEmail('instances')): Promise<Session> {
  const response = await request(instance.url).post('/auth/register').set('X-Forwarded-For', clientIp()).send({ email, password: GOOD_PASSWORD });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return { email, userId: response.body.user.id, accessToken: response.body.accessToken, refreshToken: response.body.refreshToken };
}

function loginOn(instance: Instance, email: string, password = GOOD_PASSWORD, ip = clientIp()) {
  return request(instance.url).post('/auth/login').set('X-Forwarded-For', ip).send({ email, password });
}

async function sessionOn(instance: Instance, email: string, password = GOOD_PASSWORD): Promise<Session> {
  const response = await loginOn(instance, email, password);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return { email, userId: response.body.user.id, accessToken: response.body.accessToken, refreshToken: response.body.refreshToken };
}

function authed(instance: Instance, method: 'get' | 'post' | 'patch' | 'delete', path: string, token: string) {
  return request(instance.url)[method](path).set('X-Forwarded-For', clientIp()).set('Authorization', `Bearer ${token}`);
}

/** GET /auth/sessions: a protected route whose answer does not look at the caller's own session (the guard decides). */
const sessionsWith = (instance: Instance, token: string) => authed(instance, 'get', '/auth/sessions', token);

async function expectAccepted(instance: Instance, token: string) {
  const response = await sessionsWith(instance, token);
  expect(response.status, `${instance.name}: ${JSON.stringify(response.body)}`).toBe(200);
}

async function expectRevoked(instance: Instance, token: string) {
  const response = await sessionsWith(instance, token);
  expect({ status: response.status, code: response.body.code }, instance.name).toEqual({ status: 401, code: 'token_revoked' });
}

/** Asks `instance` again and again until it refuses the token or a second has passed; the last answer. */
async function refusedWithinOneSecond(instance: Instance, token: string) {
  const deadline = Date.now() + 1000;
  for (;;) {
    const response = await sessionsWith(instance, token);
    if (response.status !== 200 || Date.now() >= deadline) return { status: response.status, code: response.body.code };
    await sleep(10);
  }
}

// ---------------------------------------------------------------- set-up

beforeAll(async () => {
  compiled = await compileService();
  database = await createTestDatabase({ serverUrl: POSTGRES_SERVER_URL });
  const server = new URL(database.env.DATABASE_URL);
  relay = await startRelay(server.hostname, Number(server.port || 5432));
  const url = new URL(database.env.DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(relay.port);
  listenUrl = url.toString();
  // A first (it migrates the new database and creates the admin), then B on what A made.
  a = await startInstance('A');
  b = await startInstance('B', { DATABASE_LISTEN_URL: listenUrl });
}, 240_000);

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.stop()));
  await relay?.close();
  await database?.drop();
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${REDIS_KEY_PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
  compiled?.remove();
  for (const directory of dataDirs) rmSync(directory, { recursive: true, force: true });
}, 60_000);

// ---------------------------------------------------------------- tests

describe('two instances on one PostgreSQL and one Redis', () => {
  it('a token issued by one is accepted by the other, both ways', async () => {
    const onA = await registerOn(a);
    const me = await authed(b, 'get', '/users/me', onA.accessToken).expect(200);
    expect(me.body.id).toBe(onA.userId);
    const onB = await sessionOn(b, onA.email);
    await expectAccepted(a, onB.accessToken);
    // One database: each sees both sessions.
    const sessions = await sessionsWith(a, onA.accessToken).expect(200);
    expect(sessions.body.map((session: { id: string }) => session.id).sort()).toEqual(
      [decodeJwt(onA.accessToken).payload.sid, decodeJwt(onB.accessToken).payload.sid].sort(),
    );
  });

  it('a logout-all on A is refused on B (401 token_revoked) within one second; no one else\'s token is', async () => {
    const user = await registerOn(a);
    const second = await sessionOn(b, user.email);
    const bystander = await registerOn(b);
    await expectAccepted(b, user.accessToken); // B has verified (and remembered) it before
    await expectAccepted(b, second.accessToken);

    await authed(a, 'post', '/auth/logout-all', user.accessToken).expect(204);
    expect(await refusedWithinOneSecond(b, user.accessToken)).toEqual({ status: 401, code: 'token_revoked' });
    await expectRevoked(b, second.accessToken);
    await expectRevoked(a, second.accessToken);
    await expectAccepted(b, bystander.accessToken);
  });

  it('ending one session on B (DELETE /auth/sessions/:id) is refused on A within one second', async () => {
    const user = await registerOn(a);
    const other = await sessionOn(a, user.email);
    await expectAccepted(a, other.accessToken);
    await authed(b, 'delete', `/auth/sessions/${decodeJwt(other.accessToken).payload.sid}`, user.accessToken).expect(204);
    expect(await refusedWithinOneSecond(a, other.accessToken)).toEqual({ status: 401, code: 'token_revoked' });
    await expectAccepted(a, user.accessToken);
  });

  it('a role change made on A revokes the user\'s earlier tokens on B; a refresh on B carries the new roles', async () => {
    const admin = await sessionOn(a, ADMIN.email, ADMIN.password);
    const user = await registerOn(b);
    await expectAccepted(b, user.accessToken);

    await authed(a, 'patch', `/users/${user.userId}/roles`, admin.accessToken).send({ roles: ['user', 'admin'] }).expect(200);
    expect(await refusedWithinOneSecond(b, user.accessToken)).toEqual({ status: 401, code: 'token_revoked' });

    const refreshed = await request(b.url).post('/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
    expect(decodeJwt(refreshed.body.accessToken).payload.roles).toEqual(['user', 'admin']);
    await authed(b, 'get', '/users', refreshed.body.accessToken).expect(200);
    await authed(a, 'get', '/users', refreshed.body.accessToken).expect(200);
  });

  it(`the per-IP limit is counted once for both: ${AUTH_RATE_LIMIT} logins from one client on A and B, and the next is 429`, async () => {
    const ip = clientIp();
    const statuses: number[] = [];
    for (const instance of [a, a, a, b, b]) statuses.push((await loginOn(instance, uniqueEmail('nobody'), 'wrong password', ip)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // Counted apart, B would have seen two of its five.
    const sixth = await loginOn(b, uniqueEmail('nobody'), 'wrong password', ip);
    expect({ status: sixth.status, code: sixth.body.code }).toEqual({ status: 429, code: 'rate_limited' });
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(0);
    // Another client is not affected.
    expect((await loginOn(a, uniqueEmail('nobody'), 'wrong password')).status).toBe(401);
  });

  it('the login back-off is counted once for both: a wrong password on A and one on B block the account on A', async () => {
    const user = await registerOn(a);
    expect((await loginOn(a, user.email, 'wrong password')).status).toBe(401);
    expect((await loginOn(b, user.email, 'wrong password')).status).toBe(401); // the second, with A's: the threshold (2)
    // Counted apart, each instance would have seen one failure and let the right password in.
    const blocked = await loginOn(a, user.email);
    expect({ status: blocked.status, code: blocked.body.code }).toEqual({ status: 429, code: 'rate_limited' });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('a refresh on A repeated on B within the reuse interval gets the same current refresh token: one session, no logout', async () => {
    const user = await registerOn(a);
    const first = await request(a.url).post('/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
    const raced = await request(b.url).post('/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
    expect(raced.body.refreshToken).toBe(first.body.refreshToken);
    expect(decodeJwt(raced.body.accessToken).payload.sid).toBe(decodeJwt(user.accessToken).payload.sid);
    await expectAccepted(a, raced.body.accessToken);
    const sessions = await sessionsWith(b, first.body.accessToken).expect(200);
    expect(sessions.body).toHaveLength(1);
    // The one live token goes on rotating, on either instance.
    await request(b.url).post('/auth/refresh').send({ refreshToken: first.body.refreshToken }).expect(200);
  });
});

describe('an instance that missed revocations catches up', () => {
  it('B stopped (SIGTERM), sessions ended and roles changed on A meanwhile: B refuses those tokens from its first request', async () => {
    const admin = await sessionOn(a, ADMIN.email, ADMIN.password);
    const loggedOut = await registerOn(a);
    const demoted = await registerOn(a);
    const untouched = await registerOn(a);
    for (const session of [loggedOut, demoted, untouched]) await expectAccepted(b, session.accessToken);

    const { code, signal } = await b.stop();
    expect(code === 0 || signal === 'SIGTERM', `B exited with ${code} ${signal}:\n${b.stderr}`).toBe(true);
    await authed(a, 'post', '/auth/logout-all', loggedOut.accessToken).expect(204);
    await authed(a, 'patch', `/users/${demoted.userId}/roles`, admin.accessToken).send({ roles: ['user', 'admin'] }).expect(200);

    b = await startInstance('B', { DATABASE_LISTEN_URL: listenUrl });
    await expectRevoked(b, loggedOut.accessToken);
    await expectRevoked(b, demoted.accessToken);
    await expectAccepted(b, untouched.accessToken);
  });

  it('B\'s channel dropped by the database: B logs it, keeps serving, and refuses what A revoked meanwhile once it has reconnected', async () => {
    const user = await registerOn(a);
    const bystander = await registerOn(a);
    await expectAccepted(b, user.accessToken);
    const from = b.lines.length;

    // From the database's side: only B's listening session (its application_name names its pid).
    relay.refusing = true;
    const admin = new Client({ connectionString: database.env.DATABASE_URL });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1 AND query LIKE 'LISTEN%'`,
        [listenerApplicationName(b.process.pid)],
      );
      expect(rows).toEqual([{ terminated: true }]);
    } finally {
      await admin.end();
    }
    await waitFor('revocation_channel_down on B', () => events(b, 'revocation_channel_down', from)[0], 10_000);

    await authed(a, 'post', '/auth/logout-all', user.accessToken).expect(204);
    await expectRevoked(a, user.accessToken);
    // While the channel is down B serves from memory: it has not heard of this revocation yet.
    await expectAccepted(b, bystander.accessToken);
    await expectAccepted(b, user.accessToken);
    await authed(b, 'get', '/users/me', bystander.accessToken).expect(200);

    relay.refusing = false;
    const reconnected = await waitFor('revocation_channel_reconnected on B', () => events(b, 'revocation_channel_reconnected', from)[0], 20_000);
    expect(reconnected).toMatchObject({ level: 30, context: 'Revocation' });
    // The reload comes before the line: from now on B refuses the token.
    await expectRevoked(b, user.accessToken);
    await expectAccepted(b, bystander.accessToken);
    const down = events(b, 'revocation_channel_down', from);
    expect(down[0]).toMatchObject({ level: 40, context: 'Revocation' });
    expect(typeof down[0].retryInMs).toBe('number');
  });
});
