import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { appConfig } from '../config/app.config';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { authConfig } from './auth.config';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
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
    ConfigModule.forFeature(appConfig), // CORS_ORIGINS: the sites a cookie-carried refresh may come from
    RateLimitModule,
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
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
