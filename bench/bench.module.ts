import { CanActivate, Controller, ExecutionContext, Get, Inject, Injectable, Module, Param, ParseIntPipe, ParseUUIDPipe, Post, Query, UseGuards } from '@nestjs/common';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { ConfigModule } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public, Role } from '../src/common/auth';
import { bearerToken } from '../src/auth/bearer-token';
import { userOf } from '../src/auth/strategies/jwt.strategy';
import { AccessTokenService } from '../src/tokens/access-token.service';
import { RefreshTokensService } from '../src/tokens/refresh-tokens.service';
import { RevocationService } from '../src/tokens/revocation/revocation.service';
import { tokensConfig, TokensConfig } from '../src/tokens/tokens.config';
import { TokensModule } from '../src/tokens/tokens.module';

/**
 * Mounted by the benchmark only (createApp({ modules: [BenchModule] })), never shipped:
 * routes that do the same work behind different kinds of authentication.
 */
export const RECIPE_SECRET = Symbol('RECIPE_SECRET');

/** The usual NestJS recipe: passport-jwt with `secretOrKey` as a string (jsonwebtoken). */
@Injectable()
class RecipeJwtStrategy extends PassportStrategy(Strategy, 'recipe-jwt') {
  constructor(@Inject(RECIPE_SECRET) secret: string) {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: secret, algorithms: ['HS256'] });
  }

  validate(payload: { sub: string; roles: string[] }) {
    return { id: payload.sub, roles: payload.roles };
  }
}

const UNCACHED_TOKENS = Symbol('UNCACHED_TOKENS');

/**
 * JwtAuthGuard's check (after its @Public() test) with an AccessTokenService that remembers
 * nothing (ACCESS_TOKEN_CACHE_SIZE=0): every request a full verification through
 * @nestjs/jwt, as a load of always-new tokens would cost.
 */
@Injectable()
class UncachedGuard implements CanActivate {
  constructor(@Inject(UNCACHED_TOKENS) private readonly tokens: AccessTokenService) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string>; user?: unknown }>();
    request.user = userOf(this.tokens.verify(bearerToken(request)));
    return true;
  }
}

// Node's default resolution: at 1 ms the sampling timer itself cost the service ~30 ms of CPU a second.
const RESOLUTION_MS = 10;
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
delay.enable();

// The bench process only: a full GC before reading memory, so that figures compare live
// memory rather than wherever the collector happened to be.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

@Controller('bench')
class BenchController {
  constructor(
    private readonly accessTokens: AccessTokenService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly revocations: RevocationService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * A new session of this user and its access token, as a login opens them but without the
   * bcrypt compare: the revocation-latency step needs a live token per trial.
   */
  @Public()
  @Post('sessions/:userId')
  async session(@Param('userId', ParseUUIDPipe) userId: string) {
    const client = { userAgent: 'bench', ip: '127.0.0.1', requestId: 'bench' };
    const { sessionId } = await this.refreshTokens.openSession(userId, client);
    return { accessToken: this.accessTokens.sign({ id: userId, roles: [Role.User] }, { id: sessionId, amr: ['pwd'], aal: 1 }) };
  }

  /**
   * Ends `count` sessions (random ids) through RevocationService.sessionsEnded, as every
   * logout does, outside a transaction: this instance applies them at once (and, on
   * PostgreSQL, sends them on the channel too), so that the guard runs with that many
   * revoked sessions in its state. No rows: a logout-all of 100,000 real sessions took 5 to
   * 15 s of the bench's time limit for the same state.
   */
  @Public()
  @Post('revoked-sessions')
  async revokedSessions(@Query('count', ParseIntPipe) count: number) {
    // Flat strings, as ids come from the database or the channel: randomUUID() returns a rope
    // of concatenations that takes about eight times the memory.
    const ids = JSON.parse(JSON.stringify(Array.from({ length: count }, () => randomUUID()))) as string[];
    const started = process.hrtime.bigint();
    await this.revocations.sessionsEnded(ids, this.dataSource.manager);
    return { applyMs: Number(process.hrtime.bigint() - started) / 1e6, state: this.revocations.size };
  }

  @Public()
  @Get('public')
  open() {
    return { ok: true };
  }

  /** Behind the product's global JwtAuthGuard and RolesGuard, like any protected route. */
  @Get('protected')
  guarded() {
    return { ok: true };
  }

  @Public()
  @UseGuards(UncachedGuard)
  @Get('uncached')
  uncached() {
    return { ok: true };
  }

  /** The product's `jwt` strategy through Passport, as `@UseGuards(AuthGuard('jwt'))` runs it. */
  @Public()
  @UseGuards(AuthGuard('jwt'))
  @Get('passport')
  passport() {
    return { ok: true };
  }

  @Public()
  @UseGuards(AuthGuard('recipe-jwt'))
  @Get('recipe')
  recipe() {
    return { ok: true };
  }

  @Public()
  @Get('gc')
  gc() {
    collectGarbage();
    collectGarbage();
    return process.memoryUsage();
  }

  /**
   * Event-loop delay since the last call, then reset. The histogram holds the time between
   * ticks of a RESOLUTION_MS timer (an idle loop reads ~10 ms); a tick's delay is that time
   * less the interval.
   */
  @Public()
  @Get('event-loop')
  eventLoop() {
    const lateMs = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    const result = {
      resolutionMs: RESOLUTION_MS,
      p50Ms: lateMs(delay.percentile(50)),
      p99Ms: lateMs(delay.percentile(99)),
      maxMs: lateMs(delay.max),
      p99IntervalMs: delay.percentile(99) / 1e6,
    };
    delay.reset();
    return result;
  }
}

@Module({
  imports: [TokensModule, ConfigModule.forFeature(tokensConfig)],
  controllers: [BenchController],
  providers: [
    RecipeJwtStrategy,
    UncachedGuard,
    { provide: RECIPE_SECRET, useFactory: () => process.env.JWT_SECRET },
    {
      provide: UNCACHED_TOKENS,
      inject: [tokensConfig.KEY, JwtService, RevocationService],
      useFactory: (config: TokensConfig, jwt: JwtService, revocations: RevocationService) =>
        new AccessTokenService({ ...config, verifiedCacheSize: 0 }, jwt, revocations),
    },
  ],
})
export class BenchModule {}
