import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth';
import { ApiError } from '../common/api-error';
import { ApiErrors } from '../common/openapi';
import { tokensConfig, TokensConfig } from './tokens.config';

/** Public keys for other services to verify access tokens without any secret (RFC 7517). */
@ApiTags('keys')
@Controller('.well-known')
export class JwksController {
  constructor(@Inject(tokensConfig.KEY) private readonly config: TokensConfig) {}

  @Public()
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ summary: 'Public keys that verify access tokens (RS256, ES256)' })
  @ApiOkResponse({ description: 'A JSON Web Key Set (RFC 7517)', schema: { type: 'object', properties: { keys: { type: 'array', items: { type: 'object' } } } } })
  @ApiErrors({ 404: 'not_found: tokens are signed with HS256, which has no public key' })
  jwks() {
    if (this.config.publicJwks.length === 0) {
      throw new ApiError(404, 'not_found', 'No public keys: tokens are signed with HS256');
    }
    return { keys: this.config.publicJwks };
  }
}
