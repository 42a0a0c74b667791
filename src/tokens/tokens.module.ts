import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessTokenService } from './access-token.service';
import { JwksController } from './jwks.controller';
import { jwtModuleOptions } from './jwt-options';
import { RefreshToken } from './refresh-token.entity';
import { RefreshTokensService } from './refresh-tokens.service';
import { Session } from './session.entity';
import { tokensConfig, TokensConfig } from './tokens.config';
import { databaseConfig } from '../database/database.config';
import { secretsConfig } from '../config/secrets.config';
import { RevocationService } from './revocation/revocation.service';

@Module({
  imports: [
    ConfigModule.forFeature(tokensConfig),
    ConfigModule.forFeature(secretsConfig),
    ConfigModule.forFeature(databaseConfig),
    TypeOrmModule.forFeature([Session, RefreshToken]),
    // JwtService signs and verifies with the keys tokensConfig prepared once (KeyObjects).
    JwtModule.registerAsync({
      imports: [ConfigModule.forFeature(tokensConfig)],
      inject: [tokensConfig.KEY],
      useFactory: (config: TokensConfig) => jwtModuleOptions(config),
    }),
  ],
  controllers: [JwksController],
  providers: [AccessTokenService, RefreshTokensService, RevocationService],
  exports: [AccessTokenService, RefreshTokensService, RevocationService, JwtModule],
})
export class TokensModule {}
