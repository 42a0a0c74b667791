import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessTokenService } from './access-token.service';
import { JwksController } from './jwks.controller';
import { RefreshToken } from './refresh-token.entity';
import { RefreshTokensService } from './refresh-tokens.service';
import { tokensConfig } from './tokens.config';

@Module({
  imports: [ConfigModule.forFeature(tokensConfig), TypeOrmModule.forFeature([RefreshToken])],
  controllers: [JwksController],
  providers: [AccessTokenService, RefreshTokensService],
  exports: [AccessTokenService, RefreshTokensService],
})
export class TokensModule {}
