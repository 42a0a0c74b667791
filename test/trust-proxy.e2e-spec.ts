import http from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from './support/api';
import { startApp, TestApp } from './support/test-app';

/**
 * TRUST_PROXY through a real reverse proxy (http-proxy with `xfwd`, which appends the address
 * of the socket it accepted to X-Forwarded-For, as a load balancer does). Clients connect to
 * the proxy from distinct loopback addresses (127.0.0.2, 127.0.0.3): those are the real client
 * IPs. Whatever X-Forwarded-For a client sends itself is what it chose, not where it is.
 */

interface Answer {
  status: number;
  body: any;
}

class Proxy {
  private readonly proxy = httpProxy.createProxyServer({ xfwd: true });
  private readonly server = http.createServer((request, response) => {
    this.proxy.web(request, response, { target: this.target }, () => {
      response.writeHead(502).end();
    });
  });

  constructor(private readonly target: string) {}

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.proxy.close();
  }
}

/** One HTTP call to the proxy from the loopback address `from`, with the headers a client chose. */
function call(port: number, from: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        method,
        path,
        agent: false,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: text ? JSON.parse(text) : undefined }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

const CLIENT_A = '127.0.0.2';
const CLIENT_B = '127.0.0.3';
const PROXY_ADDRESS = '127.0.0.1';

/** Registers from `from` (sending a forged X-Forwarded-For) and answers the IP its session was opened with. */
async function ipSeenFor(port: number, from: string, forged: string): Promise<string> {
  const registered = await call(port, from, 'POST', '/auth/register', { email: uniqueEmail('proxy'), password: GOOD_PASSWORD }, {
    'x-forwarded-for': forged,
  });
  expect(registered.status).toBe(201);
  const sessions = await call(port, from, 'GET', '/auth/sessions', undefined, { authorization: `Bearer ${registered.body.accessToken}` });
  expect(sessions.status).toBe(200);
  expect(sessions.body).toHaveLength(1);
  return sessions.body[0].ip;
}

const wrongLogin = (port: number, from: string, forged?: string) =>
  call(port, from, 'POST', '/auth/login', { email: 'nobody@example.com', password: 'wrong password' }, forged ? { 'x-forwarded-for': forged } : {});

function expectLimited(answer: Answer) {
  expect(answer.status).toBe(429);
  expect(answer.body).toMatchObject({ statusCode: 429, code: 'rate_limited', message: 'Too Many Requests' });
}

/** Starts the service with `trustProxy` behind a fresh proxy. One app at a time: Passport strategies are process-wide. */
function behindProxy(trustProxy: string) {
  const context: { app?: TestApp; proxy?: Proxy; port: number } = { port: 0 };
  beforeAll(async () => {
    context.app = await startApp({ TRUST_PROXY: trustProxy, AUTH_RATE_LIMIT: '3', LOGIN_BACKOFF_THRESHOLD: '1000' });
    context.proxy = new Proxy(context.app.url);
    context.port = await context.proxy.start();
  });
  afterAll(async () => {
    await context.proxy?.stop();
    await context.app?.close();
  });
  return context;
}

describe.each([
  ['a hop count (TRUST_PROXY=1)', '1'],
  ["the proxy's address (TRUST_PROXY=127.0.0.1)", PROXY_ADDRESS],
])('behind one proxy, trusted by %s', (_, trustProxy) => {
  const context = behindProxy(trustProxy);

  it('takes the address the proxy saw, not the X-Forwarded-For a client sent', async () => {
    expect(await ipSeenFor(context.port, CLIENT_A, '203.0.113.7')).toBe(CLIENT_A);
    expect(await ipSeenFor(context.port, CLIENT_B, '203.0.113.7')).toBe(CLIENT_B);
  });

  it('counts the limit per real client, and a forged first X-Forwarded-For entry does not dodge it', async () => {
    const statuses: number[] = [];
    // Each request names a new "client" first in X-Forwarded-For; the proxy appends the real one.
    for (let i = 0; i < 3; i += 1) statuses.push((await wrongLogin(context.port, CLIENT_A, `198.51.100.${i}, 192.0.2.${i}`)).status);
    expect(statuses).toEqual([401, 401, 401]);
    expectLimited(await wrongLogin(context.port, CLIENT_A, '198.51.100.99'));
    expectLimited(await wrongLogin(context.port, CLIENT_A, CLIENT_B)); // naming another client's address is no way out either
    // Another client behind the same proxy has a budget of its own.
    expect((await wrongLogin(context.port, CLIENT_B)).status).toBe(401);
  });
});

describe('behind one proxy, TRUST_PROXY=false', () => {
  const context = behindProxy('false');

  it('ignores X-Forwarded-For: every client is the proxy, and shares its limit', async () => {
    expect(await ipSeenFor(context.port, CLIENT_A, '203.0.113.7')).toBe(PROXY_ADDRESS);
    for (let i = 0; i < 3; i += 1) expect((await wrongLogin(context.port, CLIENT_A, `198.51.100.${i}`)).status).toBe(401);
    expectLimited(await wrongLogin(context.port, CLIENT_A, '198.51.100.99'));
    expectLimited(await wrongLogin(context.port, CLIENT_B, '198.51.100.100'));
  });
});
