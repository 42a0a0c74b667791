import { createServer, connect, Server, Socket } from 'node:net';
import { Controller, Get, Module } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { type AuthUser, CurrentUser } from '../src/common/auth';
import { GOOD_PASSWORD, register, Registered } from './support/api';
import { createTestDatabase, startApp, TestApp } from './support/test-app';
import { POSTGRES_SERVER_URL } from './support/database-templates';

/**
 * A database outage, made real: the service reaches PostgreSQL through a TCP proxy of
 * this test's own, which can cut every connection and refuse new ones, then let them
 * through again. Always on the real PostgreSQL (PGlite runs in-process and cannot be cut).
 */

class TcpProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private down = false;
  /** Connections accepted and piped through, since the start. */
  accepted = 0;
  /** Connections refused (destroyed on arrival) while cut. */
  refused = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.onConnection(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    return (this.server.address() as { port: number }).port;
  }

  get liveSockets(): number {
    return this.sockets.size;
  }

  /** Destroys every live connection and refuses new ones (the port stays ours: they are destroyed on arrival). */
  cut(): void {
    this.down = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: Socket): void {
    if (this.down) {
      this.refused += 1;
      client.destroy();
      return;
    }
    this.accepted += 1;
    const upstream = connect(this.targetPort, this.targetHost);
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(socket);
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        this.sockets.delete(socket);
        other.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

/** A route behind the global JWT guard that needs no database: the token's claims. */
@Controller('probe')
class ProbeController {
  @Get('claims')
  claims(@CurrentUser() caller: AuthUser): AuthUser {
    return caller;
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

let proxy: TcpProxy;
let app: TestApp;
let user: Registered;
const statuses: Array<[string, number]> = [];

/** Every response of the scenario is recorded, so that the test can check that none was a 500. */
async function track<T extends request.Response>(label: string, pending: PromiseLike<T>): Promise<T> {
  const response = await pending;
  statuses.push([label, response.status]);
  return response;
}

const login = () => request(app.url).post('/auth/login').send({ email: user.email, password: GOOD_PASSWORD });
const refresh = (token: string) => request(app.url).post('/auth/refresh').send({ refreshToken: token });

function expectDatabaseUnavailable(response: request.Response): void {
  expect(response.status, response.text).toBe(503);
  expect(response.headers['retry-after']).toMatch(/^\d+$/);
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  expect(response.body).toMatchObject({ statusCode: 503, code: 'database_unavailable' });
}

beforeAll(async () => {
  const server = new URL(POSTGRES_SERVER_URL);
  proxy = new TcpProxy(server.hostname, Number(server.port || 5432));
  const port = await proxy.listen();
  const database = await createTestDatabase({ serverUrl: POSTGRES_SERVER_URL });
  const viaProxy = new URL(database.env.DATABASE_URL);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(port);
  database.env.DATABASE_URL = viaProxy.toString();
  app = await startApp({}, database, undefined, [ProbeModule]);
}, 60_000);

afterAll(async () => {
  proxy?.restore(); // so that the service's pool can end cleanly
  await app?.close(); // drops the database, directly on the server
  await proxy?.close();
});

describe('a database outage (through a TCP proxy that cuts every connection)', () => {
  it('answers 503 with Retry-After while the database is cut off, keeps serving stateless routes, and recovers without a restart', async () => {
    // Up: the service's connections really go through the proxy.
    user = await register(app);
    expect(user.refreshToken).toBeDefined();
    expect(proxy.accepted).toBeGreaterThan(0);
    expect(proxy.liveSockets).toBeGreaterThan(0);
    await track('health before', request(app.url).get('/health').expect(200));

    proxy.cut();
    expect(proxy.liveSockets).toBe(0);

    const loginDown = await track('login during the cut', login());
    expectDatabaseUnavailable(loginDown);

    const healthDown = await track('health during the cut', request(app.url).get('/health'));
    expectDatabaseUnavailable(healthDown);
    expect(healthDown.body.details).toEqual({ database: { status: 'down' } });

    // The JWT guard verifies the signature without a query: a valid token still passes.
    const claims = await track('probe during the cut', request(app.url).get('/probe/claims').set('Authorization', `Bearer ${user.accessToken}`));
    expect(claims.status).toBe(200);
    expect(claims.body).toMatchObject({ id: user.user.id, roles: ['user'], amr: ['pwd'], aal: 1 });

    const refreshDown = await track('refresh during the cut', refresh(user.refreshToken!));
    expectDatabaseUnavailable(refreshDown);

    const meDown = await track('users/me during the cut', request(app.url).get('/users/me').set('Authorization', `Bearer ${user.accessToken}`));
    expectDatabaseUnavailable(meDown);

    expect(proxy.refused).toBeGreaterThan(0); // the service did try to reconnect, and was refused

    proxy.restore();

    // Recovery, in the same process: the pool reconnects on the next queries.
    const deadline = Date.now() + 15_000;
    let health = await track('health after', request(app.url).get('/health'));
    while (health.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      health = await track('health after', request(app.url).get('/health'));
    }
    expect(health.status, health.text).toBe(200);
    expect(health.body.details.database.status).toBe('up');

    const loginUp = await track('login after', login());
    expect(loginUp.status, loginUp.text).toBe(200);

    // The refresh token presented during the outage was not spent: it works once now.
    const refreshUp = await track('refresh after', refresh(user.refreshToken!));
    expect(refreshUp.status, refreshUp.text).toBe(200);
    expect(refreshUp.body.user.id).toBe(user.user.id);
    await track('refresh again', refresh(refreshUp.body.refreshToken).expect(200));

    expect(statuses.filter(([, status]) => status >= 500 && status !== 503)).toEqual([]);
  }, 60_000);
});
