import { ApiProperty } from '@nestjs/swagger';
import { IsDefined, IsString, MaxLength, ValidateIf } from 'class-validator';
import { Trim } from '../../common/transforms';

export class UpdateProfileDto {
  /** A string, or null to clear it. Rules run bottom-up: the type check comes last. */
  @ApiProperty({ type: String, nullable: true, maxLength: 100, description: 'null clears it', example: 'Ada' })
  @ValidateIf((_, value) => value !== null)
  @Trim()
  @MaxLength(100)
  @IsString()
  @IsDefined()
  displayName: string | null;
}
