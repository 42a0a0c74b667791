import { ApiProperty } from '@nestjs/swagger';
import { UserResponse } from '../../users/dto/user.response';

/** What register, login and refresh answer. */
export class TokenResponse {
  @ApiProperty({ description: 'A JWS with sub, roles, jti, iat, exp, iss and aud' })
  accessToken: string;

  @ApiProperty({
    required: false,
    description:
      'Opaque; for /auth/refresh and /auth/logout only. Spent by its first use. ' +
      'Absent with AUTH_COOKIES=true: the token is then only in the HttpOnly `refresh_token` cookie (Path=/auth).',
  })
  refreshToken?: string;

  @ApiProperty({ enum: ['Bearer'] })
  tokenType: 'Bearer';

  @ApiProperty({ description: "The access token's lifetime in seconds", example: 900 })
  expiresIn: number;

  @ApiProperty({ type: UserResponse })
  user: UserResponse;
}
