import 'reflect-metadata';
import { Body, CanActivate, Controller, ExecutionContext, HttpCode, Injectable, Logger, Post, UseGuards } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { FastifyRequest } from 'fastify';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AllExceptionsFilter } from '../common/all-exceptions.filter';
import { ApiError } from '../common/api-error';
import { Role, type AuthUser } from '../common/auth';
import { MetricsModule } from '../metrics/metrics.module';
import { MetricsService } from '../metrics/metrics.service';
import { ThrottlePasswordCheck } from './password-check.decorator';
import { RateLimitModule } from './rate-limit.module';
import { rateLimitConfig, RateLimitConfig } from './rate-limit.config';

const RIGHT_PASSWORD = 'correct horse battery staple';
const ADA = '6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11';
const BOB = '0b6a4a43-5d43-4c8e-9e5a-3d2f1b0c9a7e';

beforeAll(() => Logger.overrideLogger(false));

/**
 * Stands for the global JWT guard, which runs before any route's own guards and puts the
 * caller on the request: here the caller is named by a header (none: no caller).
 */
@Injectable()
class ProbeCaller implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser | null }>();
    const id = request.headers['x-probe-user'];
    request.user = typeof id === 'string' ? { id, roles: [Role.User], sessionId: id, amr: ['pwd'], aal: 1 } : null;
    return true;
  }
}

/** Two routes that check the caller's current password, as POST /users/me/password does. */
@Controller('probe')
@UseGuards(ProbeCaller)
class Probe {
  static calls = 0;

  @Post('password')
  @HttpCode(204)
  @ThrottlePasswordCheck()
  password(@Body() body: { currentPassword?: string }): void {
    Probe.check(body);
  }

  @Post('email')
  @HttpCode(204)
  @ThrottlePasswordCheck()
  email(@Body() body: { currentPassword?: string }): void {
    Probe.check(body);
  }

  private static check({ currentPassword }: { currentPassword?: string }): void {
    Probe.calls += 1;
    if (currentPassword === undefined) throw new ApiError(400, 'validation_failed', ['currentPassword must be a string']);
    if (currentPassword !== RIGHT_PASSWORD) throw new ApiError(403, 'invalid_credentials', 'Current password is wrong');
  }
}

const apps: NestFastifyApplication[] = [];

afterEach(async () => {
  vi.useRealTimers();
  while (apps.length > 0) await apps.pop()!.close();
});

/** The probe behind the real RateLimitModule (in-memory counters) and MetricsModule, on Fastify, with the app's error filter. */
async function startProbe(limits: { perIp?: number; threshold?: number } = {}) {
  const config = {
    perIp: { limit: limits.perIp ?? 1000, windowSeconds: 60 },
    backoff: { threshold: limits.threshold ?? 1000, windowSeconds: 900, maxSeconds: 60 },
    redis: undefined,
  } as RateLimitConfig;
  const module = await Test.createTestingModule({ imports: [RateLimitModule, MetricsModule], controllers: [Probe] })
    .overrideProvider(rateLimitConfig.KEY)
    .useValue(config)
    .compile();
  const app = module.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
  apps.push(app);
  app.useGlobalFilters(new AllExceptionsFilter());
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  Probe.calls = 0;
  // The counters' clock stands still (Date only: timers run): no 1-second block lapses between two requests on a busy machine.
  vi.useFakeTimers({ toFake: ['Date'] });

  const send = async (path: 'password' | 'email', { user, password, ip = '192.0.2.1' }: { user?: string; password?: string; ip?: string }) => {
    const response = await app.inject({
      method: 'POST',
      url: `/probe/${path}`,
      remoteAddress: ip,
      headers: user === undefined ? {} : { 'x-probe-user': user },
      payload: password === undefined ? {} : { currentPassword: password },
    });
    return { status: response.statusCode, headers: response.headers, body: response.body ? (response.json() as Record<string, unknown>) : undefined };
  };
  const rejections = async (limiter: 'ip' | 'account', route: string) => {
    const metric = await app.get(MetricsService).registry.getSingleMetric('auth_rate_limit_rejections_total')!.get();
    return metric.values.find((value) => value.labels.limiter === limiter && value.labels.route === route)?.value ?? 0;
  };
  return { send, rejections };
}

describe('@ThrottlePasswordCheck(): the per-account back-off', () => {
  it('after the threshold of wrong passwords, answers 429 with Retry-After before the route runs', async () => {
    const { send, rejections } = await startProbe({ threshold: 3 });
    for (let i = 0; i < 3; i += 1) expect((await send('password', { user: ADA, password: `wrong ${i}` })).status).toBe(403);
    expect(Probe.calls).toBe(3);

    const blocked = await send('password', { user: ADA, password: RIGHT_PASSWORD });
    expect(blocked.status).toBe(429);
    expect(blocked.body).toEqual({
      statusCode: 429,
      message: 'Too many wrong passwords for this account; retry later',
      error: 'Too Many Requests',
      code: 'rate_limited',
    });
    expect(blocked.headers['retry-after']).toBe('1');
    expect(Probe.calls).toBe(3); // the password was not looked at
    expect(await rejections('account', '/probe/password')).toBe(1);

    // Another caller, and a request without one, are not held back.
    expect((await send('password', { user: BOB, password: RIGHT_PASSWORD })).status).toBe(204);
    expect((await send('password', { password: RIGHT_PASSWORD })).status).toBe(204);
  });

  it('counts across every route that checks the current password: one count per account', async () => {
    const { send } = await startProbe({ threshold: 2 });
    expect((await send('password', { user: ADA, password: 'wrong' })).status).toBe(403);
    expect((await send('email', { user: ADA, password: 'wrong' })).status).toBe(403);
    expect((await send('password', { user: ADA, password: RIGHT_PASSWORD })).status).toBe(429);
    expect((await send('email', { user: ADA, password: RIGHT_PASSWORD })).status).toBe(429);
  });

  it('counts only invalid_credentials answers: other errors are not wrong passwords', async () => {
    const { send } = await startProbe({ threshold: 2 });
    for (let i = 0; i < 5; i += 1) expect((await send('password', { user: ADA })).status).toBe(400);
    expect((await send('password', { user: ADA, password: RIGHT_PASSWORD })).status).toBe(204);
  });

  it('a right password resets the count', async () => {
    const { send } = await startProbe({ threshold: 2 });
    expect((await send('password', { user: ADA, password: 'wrong' })).status).toBe(403);
    expect((await send('password', { user: ADA, password: RIGHT_PASSWORD })).status).toBe(204);
    expect((await send('password', { user: ADA, password: 'wrong' })).status).toBe(403); // the first again, not the second
    expect((await send('password', { user: ADA, password: RIGHT_PASSWORD })).status).toBe(204);
    // Without a success in between, two wrong ones block.
    expect((await send('password', { user: ADA, password: 'wrong' })).status).toBe(403);
    expect((await send('password', { user: ADA, password: 'wrong' })).status).toBe(403);
    expect((await send('password', { user: ADA, password: RIGHT_PASSWORD })).status).toBe(429);
  });

  it('counts nothing for a request without a caller', async () => {
    const { send } = await startProbe({ threshold: 1 });
    for (let i = 0; i < 3; i += 1) expect((await send('password', { password: 'wrong' })).status).toBe(403);
    expect(Probe.calls).toBe(3);
  });
});

describe('@ThrottlePasswordCheck(): the per-IP limit', () => {
  it('lets AUTH_RATE_LIMIT requests of one IP through per route, then answers 429 with Retry-After, naming no library', async () => {
    const { send, rejections } = await startProbe({ perIp: 3 });
    // Right or wrong, each request counts.
    expect((await send('password', { user: ADA, password: 'wrong' })).status).toBe(403);
    expect((await send('password', { user: BOB, password: RIGHT_PASSWORD })).status).toBe(204);
    expect((await send('password', { password: RIGHT_PASSWORD })).status).toBe(204);

    const limited = await send('password', { user: ADA, password: RIGHT_PASSWORD });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ statusCode: 429, message: 'Too Many Requests', error: 'Too Many Requests', code: 'rate_limited' });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(Probe.calls).toBe(3);
    expect(await rejections('ip', '/probe/password')).toBe(1);

    // Another route has a budget of its own, and so has another client IP.
    expect((await send('email', { user: ADA, password: RIGHT_PASSWORD })).status).toBe(204);
    expect((await send('password', { user: ADA, password: RIGHT_PASSWORD, ip: '192.0.2.2' })).status).toBe(204);
    expect((await send('password', { user: ADA, password: RIGHT_PASSWORD })).status).toBe(429);
  });
});
