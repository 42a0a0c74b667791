import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { Trim } from '../../common/transforms';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class CreateProjectDto {
  /** Trimmed first, so "   " is empty and refused. */
  @ApiProperty({ maxLength: 100, example: 'Apollo' })
  @Trim()
  @MaxLength(100)
  @IsNotEmpty()
  @IsString()
  name: string;

  /** Absent or null: no description. */
  @ApiProperty({ type: String, required: false, nullable: true, maxLength: 1000 })
  @IsOptional()
  @MaxLength(1000)
  @IsString()
  description?: string | null;
}
