import { Controller, Get, Inject, Injectable, Module, UseGuards } from '@nestjs/common';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { Public } from '../src/auth/decorators/public.decorator';

/**
 * Mounted by the benchmark only (createApp({ modules: [BenchModule] })), never shipped:
 * three routes that do the same work behind three kinds of authentication.
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

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();

@Controller('bench')
class BenchController {
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
  @UseGuards(AuthGuard('recipe-jwt'))
  @Get('recipe')
  recipe() {
    return { ok: true };
  }

  /** Event-loop delay since the last call, then reset. */
  @Public()
  @Get('event-loop')
  eventLoop() {
    const result = { p50Ms: delay.percentile(50) / 1e6, p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
    delay.reset();
    return result;
  }
}

@Module({
  controllers: [BenchController],
  providers: [RecipeJwtStrategy, { provide: RECIPE_SECRET, useFactory: () => process.env.JWT_SECRET }],
})
export class BenchModule {}
