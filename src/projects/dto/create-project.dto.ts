import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { Trim } from '../../common/transforms';

// Rules run bottom-up, stopping at the first failure: the type check comes last.
export class CreateProjectDto {
  /** Trimmed first, so "   " is empty and refused. */
  @Trim()
  @MaxLength(100)
  @IsNotEmpty()
  @IsString()
  name: string;

  /** Absent or null: no description. */
  @IsOptional()
  @MaxLength(1000)
  @IsString()
  description?: string | null;
}
