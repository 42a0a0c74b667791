import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { Trim } from '../../common/transforms';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
// Both fields are optional: an absent one is left as it is (`{}` changes nothing).
export class UpdateProjectDto {
  /** Absent is allowed, null is not: a project always has a name. */
  @ApiProperty({ required: false, maxLength: 100 })
  @ValidateIf((_, value) => value !== undefined)
  @Trim()
  @MaxLength(100)
  @IsNotEmpty()
  @IsString()
  name?: string;

  /** A string, or null to clear it. */
  @ApiProperty({ type: String, required: false, nullable: true, maxLength: 1000, description: 'null clears it' })
  @IsOptional()
  @MaxLength(1000)
  @IsString()
  description?: string | null;
}
