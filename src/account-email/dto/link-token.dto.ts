import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

/**
 * The token of an emailed link, as the page of the link posts it. Any string up to 512
 * characters is taken: one that is not a live token gets the route's own code
 * (`verification_token_invalid`), never a validation message about its shape.
 */
export class LinkTokenDto {
  @ApiProperty({ description: 'The `token` parameter of the link (base64url)', example: 'q3Vb0w4d0fC2n1r0b4l0e9K1k5fJ2lO3pT6sX8yZ0aA' })
  @MaxLength(512)
  @IsString()
  token: string;
}
