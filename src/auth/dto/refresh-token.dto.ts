import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, ValidateIf } from 'class-validator';

/** For /auth/refresh and /auth/logout; with AUTH_COOKIES=true the token may come in the cookie instead. */
export class RefreshTokenDto {
  @ApiProperty({ required: false, maxLength: 512, description: 'Required unless AUTH_COOKIES=true and the refresh_token cookie is sent' })
  @ValidateIf((_, value) => value !== undefined) // absent is allowed, null is not
  @MaxLength(512)
  @IsString()
  refreshToken?: string;
}
