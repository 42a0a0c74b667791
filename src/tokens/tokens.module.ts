import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessTokenService } from './access-token.service';
import { RefreshToken } from './refresh-token.entity';
import { RefreshTokensService } from './refresh-tokens.service';
import { tokensConfig } from './tokens.config';

@Module({
  imports: [ConfigModule.forFeature(tokensConfig), JwtModule.register({}), TypeOrmModule.forFeature([RefreshToken])],
  providers: [AccessTokenService, RefreshTokensService],
  exports: [AccessTokenService, RefreshTokensService],
})
export class TokensModule {}
