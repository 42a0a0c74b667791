import { IsString, MaxLength, ValidateIf } from 'class-validator';

/** For /auth/refresh and /auth/logout; with AUTH_COOKIES=true the token may come in the cookie instead. */
export class RefreshTokenDto {
  @ValidateIf((_, value) => value !== undefined) // absent is allowed, null is not
  @MaxLength(512)
  @IsString()
  refreshToken?: string;
}
