import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { MfaModule } from '../mfa/mfa.module';
import { AccountEmailModule } from '../account-email/account-email.module';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { appConfig } from '../config/app.config';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { authConfig } from './auth.config';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { AalGuard } from './guards/aal.guard';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { RolesGuard } from './guards/roles.guard';
import { JwtStrategy } from './strategies/jwt.strategy';
import { LocalStrategy } from './strategies/local.strategy';
import { MfaLoginController } from './mfa-login.controller';
import { MfaLoginService } from './mfa-login.service';

@Module({
  imports: [
    UsersModule,
    TokensModule,
    PassportModule,
    ConfigModule.forFeature(authConfig),
    ConfigModule.forFeature(appConfig), // CORS_ORIGINS: the sites a cookie-carried refresh may come from
    RateLimitModule,
    MfaModule, // the login's second step and passkey logins
    AccountEmailModule, // registration's verification link, login's email_not_verified, and the email routes
  ],
  controllers: [AuthController, MfaLoginController],
  providers: [
    AuthService,
    MfaLoginService,
    LocalStrategy,
    JwtStrategy,
    JwtAuthGuard,
    RolesGuard,
    AalGuard,
    // Global, in this order: authenticate every route unless @Public(), then check @Roles(), then @RequireAal().
    { provide: APP_GUARD, useExisting: JwtAuthGuard },
    { provide: APP_GUARD, useExisting: RolesGuard },
    { provide: APP_GUARD, useExisting: AalGuard },
  ],
  // For modules that write @UseGuards(JwtAuthGuard, RolesGuard) or AuthGuard('jwt'): the guards and
  // what they need (TokensModule: AccessTokenService, JwtService).
  exports: [JwtAuthGuard, RolesGuard, AalGuard, JwtStrategy, PassportModule, TokensModule],
})
export class AuthModule {}
