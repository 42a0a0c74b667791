import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import { AccessTokenService } from './access-token.service';
import { tokensConfig } from './tokens.config';

@Module({
  imports: [ConfigModule.forFeature(tokensConfig), JwtModule.register({})],
  providers: [AccessTokenService],
  exports: [AccessTokenService],
})
export class TokensModule {}
