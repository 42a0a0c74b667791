import { Controller, Get, Header, Inject } from '@nestjs/common';
import { Public } from '../auth/decorators/public.decorator';
import { ApiError } from '../common/api-error';
import { tokensConfig, TokensConfig } from './tokens.config';

/** Public keys for other services to verify access tokens without any secret (RFC 7517). */
@Controller('.well-known')
export class JwksController {
  constructor(@Inject(tokensConfig.KEY) private readonly config: TokensConfig) {}

  @Public()
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks() {
    if (this.config.publicJwks.length === 0) {
      throw new ApiError(404, 'not_found', 'No public keys: tokens are signed with HS256');
    }
    return { keys: this.config.publicJwks };
  }
}
