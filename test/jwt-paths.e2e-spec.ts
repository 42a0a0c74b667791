import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthModule } from '../src/auth/auth.module';
import { JwtAuthGuard } from '../src/auth/guards/jwt-auth.guard';
import { type AuthUser, CurrentUser, Public } from '../src/common/auth';
import { register, Registered } from './support/api';
import { misusedTokens, pemKeyPair, Signer, signerFor, TestAlgorithm } from './support/jwt';
import { startApp, TestApp } from './support/test-app';

/**
 * The service authenticates a request on two paths that must decide alike: the global
 * JwtAuthGuard (AccessTokenService.verify, synchronous, with its cache) and the Passport
 * `jwt` strategy as `AuthGuard('jwt')` runs it (passport-jwt and jsonwebtoken). Every
 * forged and misused token of the security tests goes through both, and through a route
 * where JwtAuthGuard is applied a second time with @UseGuards.
 */
@Controller('probe')
class ProbeController {
  /** Behind the global JwtAuthGuard only. */
  @Get('global')
  global(@CurrentUser() caller: AuthUser): AuthUser {
    return caller;
  }

  /** The stock Passport guard, as any NestJS team writes it. */
  @Public()
  @UseGuards(AuthGuard('jwt'))
  @Get('passport')
  passport(@CurrentUser() caller: AuthUser): AuthUser {
    return caller;
  }

  /** The global guard, and JwtAuthGuard again: it must answer as once. */
  @UseGuards(JwtAuthGuard)
  @Get('twice')
  twice(@CurrentUser() caller: AuthUser): AuthUser {
    return caller;
  }
}

// Imports AuthModule as an extension module would, for JwtAuthGuard's dependencies.
@Module({ imports: [AuthModule], controllers: [ProbeController] })
class ProbeModule {}

const PATHS = ['/probe/global', '/probe/passport', '/probe/twice'] as const;

interface Answer {
  status: number;
  code?: string;
  wwwAuthenticate?: string;
  user?: AuthUser;
}

async function answer(app: TestApp, path: string, authorization: string | undefined): Promise<Answer> {
  const pending = request(app.url).get(path);
  const response = await (authorization === undefined ? pending : pending.set('Authorization', authorization));
  return response.status === 200
    ? { status: 200, user: { id: response.body.id, roles: response.body.roles } as AuthUser }
    : { status: response.status, code: response.body.code, wwwAuthenticate: response.headers['www-authenticate'] };
}

// Passport strategies are process-wide: one app at a time, each in its own describe block.
describe.each(['HS256', 'RS256', 'ES256'] as const)('JWT_ALGORITHM=%s: the global guard and AuthGuard(\'jwt\') decide alike', (algorithm: TestAlgorithm) => {
  let app: TestApp;
  let user: Registered;
  let signer: Signer;

  beforeAll(async () => {
    const keys = algorithm === 'HS256' ? undefined : pemKeyPair(algorithm);
    app = await startApp(keys ? { JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: keys.privateKey } : {}, undefined, undefined, [ProbeModule]);
    user = await register(app);
    signer = signerFor(algorithm, keys?.privateKey);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers every forged and misused token the same on every path, as the security tests expect', async () => {
    const cases = misusedTokens({ userId: user.user.id, valid: user.accessToken, refreshToken: user.refreshToken, signer });
    expect(cases.length).toBeGreaterThan(60);
    const mismatches: string[] = [];
    for (const { label, authorization, outcome } of cases) {
      const sent = authorization(); // the same text on every path
      const answers = await Promise.all(PATHS.map((path) => answer(app, path, sent)));
      const expected: Answer =
        outcome.status === 200
          ? { status: 200, user: { id: user.user.id, roles: ['user'] } as AuthUser }
          : { status: 401, code: outcome.code, wwwAuthenticate: outcome.code === 'token_missing' ? 'Bearer' : 'Bearer error="invalid_token"' };
      PATHS.forEach((path, i) => {
        if (JSON.stringify(answers[i]) !== JSON.stringify(expected)) mismatches.push(`${label} on ${path}: ${JSON.stringify(answers[i])}, expected ${JSON.stringify(expected)}`);
      });
    }
    expect(mismatches).toEqual([]);
  });

  it('answers a revoked token (its session ended) 401 token_revoked on every path', async () => {
    const other = await register(app);
    for (const path of PATHS) expect((await answer(app, path, `Bearer ${other.accessToken}`)).status).toBe(200);
    await request(app.url).post('/auth/logout').send({ refreshToken: other.refreshToken }).expect(204);
    for (const path of PATHS) {
      expect(await answer(app, path, `Bearer ${other.accessToken}`)).toEqual({ status: 401, code: 'token_revoked', wwwAuthenticate: 'Bearer error="invalid_token"' });
    }
  });

  it('tells a refresh token sent as Bearer where it belongs, on both paths', async () => {
    for (const path of ['/probe/global', '/probe/passport']) {
      const response = await request(app.url).get(path).set('Authorization', `Bearer ${user.refreshToken}`).expect(401);
      expect(response.body.code).toBe('token_invalid');
      expect(response.body.message).toMatch(/POST \/auth\/refresh/);
    }
  });
});
