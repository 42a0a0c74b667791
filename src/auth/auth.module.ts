import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule } from '@nestjs/throttler';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { authConfig, AuthConfig } from './auth.config';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { LoginBackoffService } from './login-backoff.service';
import { COUNTER_STORE, CounterStore } from './rate-limit/counter-store';
import { CounterThrottlerStorage } from './rate-limit/counter-throttler.storage';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { RolesGuard } from './guards/roles.guard';
import { JwtStrategy } from './strategies/jwt.strategy';
import { LocalStrategy } from './strategies/local.strategy';

@Module({
  imports: [
    UsersModule,
    TokensModule,
    PassportModule,
    ConfigModule.forFeature(authConfig),
    RateLimitModule,
    ThrottlerModule.forRootAsync({
      imports: [ConfigModule.forFeature(authConfig), RateLimitModule],
      inject: [authConfig.KEY, COUNTER_STORE],
      useFactory: ({ rateLimit }: AuthConfig, store: CounterStore) => ({
        throttlers: [{ ttl: rateLimit.windowSeconds * 1000, limit: rateLimit.limit }],
        storage: new CounterThrottlerStorage(store),
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    LoginBackoffService,
    LocalStrategy,
    JwtStrategy,
    JwtAuthGuard,
    RolesGuard,
    // Global, in this order: authenticate every route unless @Public(), then check @Roles().
    { provide: APP_GUARD, useExisting: JwtAuthGuard },
    { provide: APP_GUARD, useExisting: RolesGuard },
  ],
  // For modules that write @UseGuards(JwtAuthGuard, RolesGuard) or AuthGuard('jwt'): the guards and
  // what they need (TokensModule: AccessTokenService, JwtService).
  exports: [JwtAuthGuard, RolesGuard, JwtStrategy, PassportModule, TokensModule],
})
export class AuthModule {}
